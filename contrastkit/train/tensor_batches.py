"""A batch source for items held as one tensor: table rows, audio clips, packed graphs."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from contrastkit.methods.base import Batch
from contrastkit.train.batches import random_order

__all__ = ["TensorBatches"]


class TensorBatches:
    """Items (N, ...) of any modality whose views are made batched by one callable.

    Args:
        items: (N, ...) tensor, one row per item (kept on the CPU; batches move to `device`).
        views: `views(x, generator) -> list[Tensor]` with x (B, ...) rows of `items`;
            draws all randomness from `generator` so runs repeat under a seed.
        labels: optional (N,) int64 labels (supervised methods and monitors use them).
        device: where the views are made.

    Example:
        >>> source = TensorBatches(torch.randn(100, 8), lambda x, g: [x, x.flip(1)])
        >>> len(source.batch(torch.arange(4), torch.Generator()).views)
        2
    """

    def __init__(
        self,
        items: Tensor,
        views: Callable[[Tensor, torch.Generator], list[Tensor]],
        labels: Tensor | None = None,
        *,
        device: torch.device | str = "cpu",
    ) -> None:
        if items.dim() < 1 or items.shape[0] == 0:
            raise ValueError(
                f"items must be a non-empty (N, ...) tensor, got shape {tuple(items.shape)}"
            )
        if labels is not None and labels.shape != (items.shape[0],):
            raise ValueError(
                f"labels must have shape ({items.shape[0]},) like the items, "
                f"got {tuple(labels.shape)}"
            )
        self.items, self.views, self.labels = items, views, labels
        self.device = torch.device(device)

    def __len__(self) -> int:
        return self.items.shape[0]

    def order(self, seed: int, batch_size: int) -> Tensor:
        return random_order(seed, len(self))

    def batch(self, index: Tensor, generator: torch.Generator) -> Batch:
        x = self.items[index].to(self.device)
        labels = self.labels[index] if self.labels is not None else None
        return Batch(self.views(x, generator), labels, index)
