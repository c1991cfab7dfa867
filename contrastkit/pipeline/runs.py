"""Run folders: where a training run keeps its config, logs, checkpoints and weights."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from contrastkit.config import Config, dump_config, load_config
from contrastkit.errors import ContrastkitError
from contrastkit.train.checkpoint import atomic_write, load_weights

CONFIG_FILE = "config.yaml"
ENCODER_FILE = "encoder.safetensors"


def new_run_dir(cfg: Config, root: str | Path = "runs") -> Path:
    """runs/<method>-<dataset>-<YYYYmmdd-HHMMSS>, or cfg.train.run_dir when set."""
    if cfg.train.run_dir:
        return Path(cfg.train.run_dir)
    name = Path(cfg.data.dataset).name or "data"
    return Path(root) / f"{cfg.method.name}-{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_config(run_dir: Path, cfg: Config) -> None:
    atomic_write(run_dir / CONFIG_FILE, lambda tmp: Path(tmp).write_text(dump_config(cfg)))


def read_config(run_dir: str | Path) -> Config:
    """The resolved config a run was started with.

    Raises:
        ContrastkitError: the folder is not a run folder.
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise ContrastkitError(
            f"{run_dir} is not a contrastkit run folder (no {CONFIG_FILE}); "
            "pass the folder that `contrastkit train` printed"
        )
    return load_config(path)


def write_json(path: Path, payload: Any) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(payload, indent=2) + "\n"))


def load_trained_encoder(run_dir: str | Path, cfg: Config, in_channels: int) -> torch.nn.Module:
    """Rebuild the run's encoder and load its final safetensors weights."""
    from contrastkit.pipeline.build import build_encoder

    path = Path(run_dir) / ENCODER_FILE
    if not path.is_file():
        raise ContrastkitError(
            f"{path} does not exist: the run has not finished; resume it with "
            f"`contrastkit train --resume {run_dir}`"
        )
    return load_weights(build_encoder(cfg, in_channels), path)
