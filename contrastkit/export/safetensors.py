"""The safetensors export: what `contrastkit.load` needs, without checkpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["export_safetensors"]

# training state and outputs that loading does not need
_SKIP = {"checkpoints", "export", "metrics.csv", "report.html", "README.md"}


def export_safetensors(run_dir: Path, out: Path) -> None:
    """Copy config.yaml, encoder.safetensors (method.safetensors, for two-tower models),
    the run's artifacts (schema.json, init/, model/, text_init/, text/) and its records
    (summary.json, eval.json) to `out`. `contrastkit.load(out)` reads the training data the
    config names again, as `contrastkit embed` does."""
    from contrastkit.modalities.registry import get_modality
    from contrastkit.pipeline.settings import read_run_config

    towers = get_modality(read_run_config(run_dir).data.modality).towers
    out.mkdir(parents=True, exist_ok=True)
    for path in run_dir.iterdir():
        if path.name in _SKIP or path.resolve() == out.resolve():
            continue
        if path.name == "method.safetensors" and towers == 1:
            continue  # the heads of a one-tower method: training only
        if path.is_dir():
            shutil.copytree(path, out / path.name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, out / path.name)
