"""Data-parallel training over torch.distributed.

Every process holds the whole method, takes its own slice of each global batch and gathers
negatives with a gradient inside the loss (`gather=True`). Gradients are averaged by
torch's DistributedDataParallel (`wrap_method`: bucketed all-reduces overlapped with the
backward pass). One path keeps a single explicit all-reduce (`average_gradients`):
gradient caching, which back-propagates a step in several chunks, so DDP's per-backward
hooks would reduce each chunk's partial gradient.
"""

from __future__ import annotations

import inspect
import os

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

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
    "wrap_method",
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


def init_from_environment(backend: str = "gloo") -> bool:
    """Join the process group torchrun describes (WORLD_SIZE, RANK, MASTER_ADDR, ...) with
    `backend` ("nccl" for CUDA devices, "gloo" otherwise), if any and not done yet. Returns
    True when this process is part of a multi-process run."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return True


class _Step(nn.Module):
    """A method's `training_step` as `forward`, so that DDP can prepare each backward."""

    def __init__(self, method: nn.Module) -> None:
        super().__init__()
        self.method = method

    def forward(self, batch):
        return self.method.training_step(batch)


def wrap_method(method: nn.Module, device: torch.device) -> nn.Module | None:
    """`batch -> method.training_step(batch)` with DDP's gradient averaging, or None on a
    single process or when nothing trains.

    The method itself is not replaced: checkpoints, exports and `on_step_end` keep using
    it. Buffers (BatchNorm statistics, queues) are not re-broadcast each step: queues hold
    gathered keys already and statistics stay per process, as without DDP. A method whose
    steps may leave parameters without a gradient says so (`unused_parameters`), and DDP
    then searches the graph for them each step.
    """
    if not is_distributed() or not any(p.requires_grad for p in method.parameters()):
        return None
    newer = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    return DistributedDataParallel(
        _Step(method),
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=bool(getattr(method, "unused_parameters", False)),
        **{"forward_sync_buffers" if newer else "broadcast_buffers": False},
    )


def broadcast_object(obj: object) -> object:
    """Rank 0's `obj` on every process (itself without torch.distributed)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
