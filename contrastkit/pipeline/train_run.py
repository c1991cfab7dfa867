"""`contrastkit train`: build everything from a config, train, write the run folder."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from contrastkit.config import Config
from contrastkit.nn.distributed import is_distributed
from contrastkit.pipeline.build import (
    build_method,
    build_monitor,
    build_trainer,
    build_views,
    check_method_fits_data,
    load_splits,
    resolve,
)
from contrastkit.pipeline.launch import broadcast_object, init_from_environment
from contrastkit.pipeline.runs import new_run_dir, read_config, write_config, write_json
from contrastkit.train.ddp import is_main
from contrastkit.train.trainer import FitResult


def train(
    cfg: Config,
    *,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    stop_at_step: int | None = None,
) -> tuple[FitResult, Path]:
    """Train the configured method; with `resume`, continue the run in `run_dir` exactly.

    Returns the fit summary and the run folder (config.yaml, metrics.csv, checkpoints/,
    encoder.safetensors, method.safetensors, summary.json).
    """
    if resume:
        if run_dir is None:
            raise ValueError("resume needs run_dir")
        cfg = read_config(run_dir)
    init_from_environment()  # torchrun sets WORLD_SIZE / RANK
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    splits = load_splits(cfg.data, cfg.train.seed)
    cfg = resolve(cfg, splits.train)
    check_method_fits_data(cfg, splits.train)
    run_dir = Path(broadcast_object(run_dir if run_dir is not None else new_run_dir(cfg)))
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume and is_main():
        write_config(run_dir, cfg)

    torch.manual_seed(cfg.train.seed)
    views = build_views(cfg)
    method = build_method(cfg, splits.train.channels, gather=is_distributed())
    monitor = build_monitor(cfg, splits, views)
    trainer = build_trainer(cfg, method, views, monitor, run_dir, progress)
    result = trainer.fit(splits.train, resume=resume, stop_at_step=stop_at_step)
    summary = {k: v for k, v in asdict(result).items() if k not in ("history", "run_dir")}
    summary["skipped_files"] = [list(s) for s in splits.train.skipped]
    if is_main():
        write_json(run_dir / "summary.json", summary)
    return result, run_dir
