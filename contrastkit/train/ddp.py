"""Data-parallel training over torch.distributed without a wrapper module.

Every process holds the whole method, takes its own slice of each global batch, gathers
negatives with a gradient inside the loss (`gather=True`), and averages gradients with one
all-reduce per step, which is what DistributedDataParallel computes. Methods are called
through `training_step`, not `forward`, so they are not wrapped in DDP; the
averaging below replaces DDP's hooks (one flat buffer, one collective).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import Tensor, nn

from contrastkit.nn.distributed import is_distributed, rank, world_size

__all__ = [
    "average_gradients",
    "barrier",
    "broadcast_object",
    "broadcast_state",
    "gather_objects",
    "init_from_environment",
    "is_distributed",
    "is_main",
    "local_slice",
    "max_across",
    "mean_across",
    "rank",
    "world_size",
]


def is_main() -> bool:
    """True on rank 0 (or without torch.distributed): the process that writes files."""
    return rank() == 0


def local_slice(index: Tensor, global_batch: int) -> Tensor:
    """This process's rows of a global batch of item positions (contiguous, rank order)."""
    world = world_size()
    if world == 1:
        return index
    if global_batch % world:
        raise ValueError(f"batch_size {global_batch} must be divisible by {world} processes")
    local = global_batch // world
    return index[rank() * local : (rank() + 1) * local]


@torch.no_grad()
def average_gradients(module: nn.Module) -> None:
    """Replace every parameter's .grad by its mean over processes (one flat all-reduce)."""
    if not is_distributed():
        return
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:  # a parameter without a gradient on one rank must still take part
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.flatten().float() for p in params])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


@torch.no_grad()
def broadcast_state(module: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process."""
    if not is_distributed():
        return
    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)


def max_across(value: float) -> float:
    """The largest `value` of all processes (e.g. elapsed time, so all stop together)."""
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t)


def mean_across(value: float) -> float:
    """The mean of `value` over processes (e.g. the loss of the global batch)."""
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t) / world_size()


def barrier() -> None:
    """Wait for every process (no-op without torch.distributed)."""
    if is_distributed():
        dist.barrier()


def gather_objects(obj: object) -> list:
    """`obj` of every process in rank order (a one-item list without torch.distributed)."""
    if not is_distributed():
        return [obj]
    out: list = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def init_from_environment() -> bool:
    """Join the process group torchrun describes (WORLD_SIZE, RANK, MASTER_ADDR, ...), if
    any and not done yet: nccl when CUDA is available, else gloo. Returns True when this
    process is part of a multi-process run."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def broadcast_object(obj: object) -> object:
    """Rank 0's `obj` on every process (itself without torch.distributed)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
