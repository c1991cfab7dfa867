"""The safetensors export: what `contrastkit.load` needs, without checkpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["export_safetensors"]

# training state and outputs that loading does not need
_SKIP = {"checkpoints", "export", "metrics.csv", "report.html", "README.md"}


def export_safetensors(run_dir: Path, out: Path) -> None:
    """Copy config.yaml, encoder.safetensors (method.safetensors, for two-tower models),
    the run's artifacts (preprocess.json, schema.json, init/, model/, text_init/, text/)
    and its records (summary.json, eval.json) to `out`. `contrastkit.load(out)` reads no
    training data but a graph's or interactions' (`contrastkit.pipeline.preprocess`); a run
    from before preprocess.json has its training data read once here to write it."""
    from contrastkit.modalities.registry import get_modality
    from contrastkit.pipeline.preprocess import PREPROCESS_FILE, inference_data, write_preprocess
    from contrastkit.pipeline.settings import read_run_config

    cfg = read_run_config(run_dir)
    modality = get_modality(cfg.data.modality)
    out.mkdir(parents=True, exist_ok=True)
    if modality.data_free and not (run_dir / PREPROCESS_FILE).is_file():
        cfg, data, _ = inference_data(run_dir, cfg, modality)  # writes it where it can
        write_preprocess(out, cfg, modality, data)
    towers = modality.towers
    for path in run_dir.iterdir():
        if path.name in _SKIP or path.resolve() == out.resolve():
            continue
        if path.name == "method.safetensors" and towers == 1:
            continue  # the heads of a one-tower method: training only
        if path.is_dir():
            shutil.copytree(path, out / path.name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, out / path.name)
