"""Collectives for batch-contrastive losses that keep gradients flowing across processes."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn


def is_distributed() -> bool:
    """True when torch.distributed is initialised with more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def require_distributed(argument: str = "gather") -> None:
    """Raise if `argument=True` was asked for but no process group exists.

    Raises:
        ValueError: torch.distributed is not initialised.
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError(
            f"{argument}=True needs torch.distributed to be initialised "
            "(launch with torchrun or call torch.distributed.init_process_group first)"
        )


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate `x` from every process along dim 0, with a gradient back to each piece.

    Args:
        x: (n, ...) this process's rows; every process must pass the same shape.

    Returns:
        (world_size * n, ...) rows of all processes in rank order; a single process gets `x`.

    The backward pass sums the gradients that every process computes for these rows
    (reduce-scatter), so each process's local rows receive the gradient of the sum of all
    processes' losses. With DDP's gradient averaging this yields the gradient of the mean
    loss, exactly as on one process with the whole batch.
    """
    if not is_distributed():
        return x
    return torch.cat(dist_fn.all_gather(x.contiguous()), dim=0)


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate `x` (n, ...) from every process along dim 0, without gradient."""
    if not is_distributed():
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


@torch.no_grad()
def shuffle_across_processes(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffling BN (MoCo, He et al. 2020, sec. 3.3): deal the global batch out to the
    processes in a random order, so BatchNorm statistics of a key batch do not come from
    the same items as its queries.

    Args:
        x: (n, ...) this process's rows (same n on every process).

    Returns:
        (n, ...) rows of the shuffled global batch for this process, and the (world * n,)
        permutation that `unshuffle_across_processes` needs. One process: `x` unchanged.
    """
    if not is_distributed():
        return x, torch.arange(x.shape[0], device=x.device)
    everything = gather_no_grad(x)
    order = torch.randperm(everything.shape[0], device=x.device)
    dist.broadcast(order, src=0)
    mine = order.view(dist.get_world_size(), -1)[dist.get_rank()]
    return everything[mine], order


@torch.no_grad()
def unshuffle_across_processes(y: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Undo `shuffle_across_processes`: (n, ...) outputs back to this process's own items."""
    if not is_distributed():
        return y
    everything = gather_no_grad(y)
    restore = torch.argsort(order)
    return everything[restore.view(dist.get_world_size(), -1)[dist.get_rank()]]
