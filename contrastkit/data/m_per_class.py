"""Class-balanced batches for metric learning: m items of each of batch_size / m classes.

The order is a pure function of the labels and a seed, like every other epoch order the
trainer draws (`BatchSource.order`): the trainer checkpoints its step and asks for the
same epoch seed on resume, so a resumed run sees exactly the batches it would have seen.
Under DDP every process computes the same global order and takes its contiguous slice of
each global batch (`ddp.local_slice`); when the local batch is a multiple of m, each
process gets whole classes, so the processes' batches are disjoint and each balanced.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_m_per_class", "m_per_class_order"]


def check_m_per_class(labels: Tensor | None, m: int, batch_size: int, world: int = 1) -> None:
    """Raise a ValueError naming the setting when m-per-class batches cannot be built.

    Args:
        labels: (N,) integer class labels of the training items, or None.
        m: items per class in a batch (>= 1).
        batch_size: the global batch size.
        world: processes sharing each global batch.

    Raises:
        ValueError: no labels, m < 1, a local batch not a multiple of m, or fewer
            classes than batch_size / m.
    """
    if labels is None:
        raise ValueError("data.m_per_class needs labelled training data, got unlabelled data")
    if m < 1:
        raise ValueError(f"data.m_per_class must be >= 1, got {m}")
    if batch_size % (m * world):
        raise ValueError(
            f"train.batch_size must be divisible by data.m_per_class x processes = "
            f"{m} x {world}, got {batch_size}"
        )
    classes = int(labels.unique().numel())
    if classes < batch_size // m:
        raise ValueError(
            f"data.m_per_class {m} with train.batch_size {batch_size} needs at least "
            f"{batch_size // m} classes, got {classes}"
        )


def m_per_class_order(labels: Tensor, m: int, batch_size: int, seed: int) -> Tensor:
    """An epoch order whose consecutive `batch_size` slices hold m items of each of
    batch_size / m distinct classes (the sampling of pytorch-metric-learning's
    `MPerClassSampler`).

    Each batch draws its classes uniformly without replacement; each class hands out its
    items from its own shuffled cycle, reshuffled when used up, so within an epoch an item
    repeats only once its class has given out all its items. A class with fewer than m
    items repeats some of them inside one batch (identical positives).

    Args:
        labels: (N,) integer class labels.
        m: items per class in a batch.
        batch_size: items per batch, a multiple of m.
        seed: seeds every draw; the same seed gives the same order.

    Returns:
        (N // batch_size * batch_size,) int64 item positions.

    Raises:
        ValueError: see `check_m_per_class`.

    Example:
        >>> y = torch.arange(12) % 4
        >>> order = m_per_class_order(y, m=2, batch_size=4, seed=0)
        >>> y[order[:4]].bincount(minlength=4).sort(descending=True).values.tolist()
        [2, 2, 0, 0]
    """
    check_m_per_class(labels, m, batch_size)
    g = torch.Generator().manual_seed(seed)
    _, inverse = labels.unique(return_inverse=True)
    by_class = inverse.argsort(stable=True)
    counts = torch.bincount(inverse).tolist()
    members = list(by_class.split(counts))
    cycles: list[list[int]] = [[] for _ in members]
    per_batch, steps = batch_size // m, len(labels) // batch_size
    out: list[int] = []
    for _ in range(steps):
        for c in torch.randperm(len(members), generator=g)[:per_batch].tolist():
            cycle = cycles[c]
            while len(cycle) < m:  # refill with a fresh shuffle of the class; the
                items = members[c]  # leftovers' second copies go last (no repeat in a batch)
                fresh = items[torch.randperm(len(items), generator=g)].tolist()
                left = set(cycle)
                cycle += [i for i in fresh if i not in left] + [i for i in fresh if i in left]
            out += cycle[:m]
            del cycle[:m]
    return torch.tensor(out, dtype=torch.int64)
