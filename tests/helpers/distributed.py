"""Run a function in N gloo processes on the CPU and collect what each returns."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from contrastkit.pipeline.launch import free_port


def _worker(rank: int, world: int, port: int, fn: Callable, args: tuple, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        result = fn(rank, world, *args)
        torch.save(result, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def run_distributed(fn: Callable, world_size: int, tmp_path: Path, *args: Any) -> list[Any]:
    """Call fn(rank, world_size, *args) in `world_size` spawned gloo processes.

    `fn` must be a module-level function; its return value (tensors, dicts, lists) is
    saved per rank and returned in rank order.
    """
    mp.spawn(
        _worker,
        args=(world_size, free_port(), fn, args, str(tmp_path)),
        nprocs=world_size,
        join=True,
    )
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(world_size)]
