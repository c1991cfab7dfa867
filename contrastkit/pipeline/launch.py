"""`contrastkit train --nproc N`: N local processes, one per GPU on a CUDA machine
(NCCL), or sharing the CPU (gloo, cpu_count / N threads each).

`train.batch_size` stays the global batch (each process takes batch_size / N items of every
step). Under torchrun (one or many machines) `contrastkit.train.ddp.init_from_environment`
joins the group torchrun describes instead.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from contrastkit.errors import ConfigError
from contrastkit.pipeline.runs import claim_run_dir
from contrastkit.train.devices import backend_for, resolve_device

__all__ = ["free_port", "spawn_train"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for MASTER_PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg_json: dict | None, run_dir: str,
            resume: bool, progress: bool, spec: str, device: str | None,
            folder: dict[str, Any]) -> None:  # fmt: skip
    from contrastkit.pipeline.settings import validate_config
    from contrastkit.pipeline.train_run import train

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), LOCAL_RANK=str(rank))
    where = resolve_device(spec, rank=rank)
    if where.type == "cuda":
        torch.cuda.set_device(where)
    else:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    dist.init_process_group(backend_for(where), rank=rank, world_size=world)
    try:
        cfg = None if cfg_json is None else validate_config(cfg_json)
        train(cfg, run_dir=run_dir, resume=resume, progress=progress and rank == 0,
              device=device, **folder)  # fmt: skip
    finally:
        dist.destroy_process_group()


def spawn_train(
    cfg: Any,
    nproc: int,
    run_dir: Path,
    *,
    resume: bool,
    progress: bool,
    device: str | None = None,
    overwrite: bool = False,
    allow_config_change: bool = False,
    announce: Sequence[str] = (),
) -> None:
    """Train in `nproc` local processes; files land in `run_dir` (written by rank 0).

    `device` replaces `train.device` (with `resume`, `cfg` may be None: the run's own);
    `overwrite`, `allow_config_change` and `announce` as in `train` (the folder is claimed
    here first).

    Raises:
        ConfigError: fewer than 2 processes, a batch that does not split evenly, a device
            this machine lacks, or more processes than GPUs.
    """
    import torch.multiprocessing as mp

    if nproc < 2:
        raise ConfigError(f"--nproc must be >= 2 to spawn processes, got {nproc}")
    from contrastkit.pipeline.settings import read_run_config

    spec = device or (cfg or read_run_config(run_dir)).train.device
    where = resolve_device(spec, rank=0)  # a missing device fails here, not in N children
    if where.type == "cuda" and spec in ("auto", "cuda"):
        if nproc > torch.cuda.device_count():
            raise ConfigError(
                f"--nproc {nproc} needs one GPU per process; this machine has "
                f"{torch.cuda.device_count()} (use --nproc {torch.cuda.device_count()})"
            )
    elif where.type != "cpu":
        raise ConfigError(
            f"--nproc on {where}: several processes need one GPU each (--device auto or "
            "cuda) or the CPU (--device cpu)"
        )
    if cfg is not None and cfg.train.batch_size % nproc:
        raise ConfigError(
            f"config key 'train.batch_size': {cfg.train.batch_size} is not divisible by "
            f"--nproc {nproc} (each process takes an equal share of the global batch)"
        )
    if not resume:
        claim_run_dir(run_dir, overwrite=overwrite)
    cfg_json = None if cfg is None else cfg.model_dump(mode="json")
    if cfg_json is not None:
        cfg_json["train"]["threads"] = None  # each process sets its own share
    folder = {"overwrite": overwrite, "allow_config_change": allow_config_change,
              "announce": list(announce)}  # fmt: skip
    mp.spawn(
        _worker,
        args=(nproc, free_port(), cfg_json, str(run_dir), resume, progress, spec, device, folder),
        nprocs=nproc,
        join=True,
    )
