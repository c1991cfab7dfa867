"""Exports of a run's model that other code loads: `export(RUN_DIR, fmt, out)`.

Formats (each a module here; every export folder also gets the model card, README.md):

- safetensors: config.yaml, weights and the run's artifacts; `contrastkit.load` reads it.
- onnx: model.onnx (dynamic batch axis) + preprocessing.json (image, audio, table), and
  config.yaml + preprocess.json, with which `contrastkit.load` runs it on ONNX Runtime.
- torchscript: model.pt (traced) + preprocessing.json (image, audio, table).
- torchvision: a ResNet state_dict that `torchvision.models.resnetNN()` loads.
- sentence-transformers: the text model folder (text runs, image-text text towers).
"""

from __future__ import annotations

from pathlib import Path

from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.pipeline.settings import CONFIG_FILE

__all__ = ["FORMATS", "export"]

FORMATS = ("safetensors", "onnx", "torchscript", "torchvision", "sentence-transformers")


def export(run_dir: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """Write the run's model in `fmt` into `out` (default RUN_DIR/export/<fmt>) with its
    model card; returns the folder.

    Raises:
        ConfigError: an unknown format.
        ContrastkitError: not a finished run folder, or a format this model has not (one
            sentence saying which formats it has).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    run = Path(run_dir)
    if not (run / CONFIG_FILE).is_file():
        raise ContrastkitError(f"{run} is not a run folder (no {CONFIG_FILE})")
    if (run / "model.onnx").is_file() and not (run / "encoder.safetensors").is_file():
        raise ContrastkitError(f"{run} is an ONNX export, not a run folder; export the run")
    folder = Path(out) if out is not None else run / "export" / fmt
    if fmt == "safetensors":
        from contrastkit.export.safetensors import export_safetensors as write
    elif fmt == "onnx":
        from contrastkit.export.onnx import export_onnx as write
    elif fmt == "torchscript":
        from contrastkit.export.torchscript import export_torchscript as write
    elif fmt == "torchvision":
        from contrastkit.export.torchvision import export_torchvision as write
    else:
        from contrastkit.export.sentence_transformers import export_sentence_transformers as write
    write(run, folder)
    from contrastkit.pipeline.card import write_card

    write_card(run, folder, fmt)
    return folder
