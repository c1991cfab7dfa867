"""Run folders: where a run keeps its config, logs, checkpoints, weights and results.

Every modality writes the same layout: config.yaml (the resolved config, `data.modality`
included: what the folder holds is read from it, never guessed), metrics.csv,
tensorboard/ (and wandb/, mlflow.db with those loggers: `contrastkit.train.loggers`),
checkpoints/, encoder.safetensors and method.safetensors (final weights), summary.json,
eval.json and eval.txt after evaluation, report.html; plus a modality's own exports
(text: model/, a sentence-transformers folder).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from contrastkit.config import Config, dump_config
from contrastkit.pipeline.settings import CONFIG_FILE
from contrastkit.train.checkpoint import atomic_write

__all__ = ["new_run_dir", "write_config", "write_json"]


def new_run_dir(cfg: Config, root: str | Path = "runs") -> Path:
    """runs/<method>-<dataset>-<YYYYmmdd-HHMMSS>, or cfg.train.run_dir when set."""
    if cfg.train.run_dir:
        return Path(cfg.train.run_dir)
    name = Path(cfg.data.dataset).stem or "data"
    return Path(root) / f"{cfg.method.name}-{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_config(run_dir: Path, cfg: Config) -> None:
    atomic_write(run_dir / CONFIG_FILE, lambda tmp: Path(tmp).write_text(dump_config(cfg)))


def write_json(path: Path, payload: Any) -> None:
    """Write `payload` as JSON atomically; NaN and infinities become null (strict JSON)."""
    atomic_write(
        path, lambda tmp: Path(tmp).write_text(json.dumps(_finite(payload), indent=2) + "\n")
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
