"""Starting multi-process training: under torchrun, or `contrastkit train --nproc N`.

On one machine, `--nproc N` spawns N processes joined by the gloo backend (CPU), each
with cpu_count / N threads. torchrun (one or many machines) sets RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT; `init_from_environment` then joins its process group (nccl
when CUDA is available, else gloo). `train.batch_size` stays the global batch: each
process takes batch_size / N items of every step.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from contrastkit.errors import ConfigError


def init_from_environment() -> bool:
    """Join the process group torchrun describes, if any and not done yet. Returns True
    when this process is part of a multi-process run."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    return True


def broadcast_object(obj: Any) -> Any:
    """Rank 0's `obj` on every process (itself without torch.distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for MASTER_PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg_json: dict, run_dir: str, resume: bool,
            progress: bool) -> None:  # fmt: skip
    from contrastkit.config import validate_config
    from contrastkit.pipeline.train_run import train

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        cfg = None if resume else validate_config(cfg_json)
        train(cfg, run_dir=run_dir, resume=resume, progress=progress and rank == 0)  # type: ignore[arg-type]
    finally:
        dist.destroy_process_group()


def spawn_train(cfg: Any, nproc: int, run_dir: Path, *, resume: bool, progress: bool) -> None:
    """Train in `nproc` local gloo processes; files land in `run_dir` (written by rank 0)."""
    import torch.multiprocessing as mp

    if nproc < 2:
        raise ConfigError(f"--nproc must be >= 2 to spawn processes, got {nproc}")
    if cfg is not None and cfg.train.batch_size % nproc:
        raise ConfigError(
            f"config key 'train.batch_size': {cfg.train.batch_size} is not divisible by "
            f"--nproc {nproc} (each process takes an equal share of the global batch)"
        )
    cfg_json = None if cfg is None else cfg.model_dump(mode="json")
    if cfg_json is not None:
        cfg_json["train"]["threads"] = None  # each process sets its own share
    mp.spawn(
        _worker,
        args=(nproc, free_port(), cfg_json, str(run_dir), resume, progress),
        nprocs=nproc,
        join=True,
    )
