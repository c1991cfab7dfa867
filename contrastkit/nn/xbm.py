"""Cross-batch memory (XBM, Wang et al. 2020): past embeddings and labels as references."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.nn.queue import FeatureQueue

__all__ = ["CrossBatchMemory"]


class CrossBatchMemory(nn.Module):
    """A ring buffer of the last `size` embeddings with their labels, used as extra
    references by pair and triplet losses once `start_step` updates have been made [1].

    [1] observes that embeddings drift slowly after the first epochs, so those of past
    batches are good stand-ins and the memory need not be re-encoded ("slow drift"); it
    starts using the memory after a warm-up (1k iterations on SOP). Everything is a buffer
    (rows, labels, write position, fill count, updates seen), so checkpoints hold the
    memory and a resumed run continues with it exactly. Writes happen only through `push`,
    which a method calls from `on_step_end`: a skipped step leaves it unchanged.

    Args:
        size: rows kept (M).
        dim: embedding size (D).
        start_step: updates (pushes) before the memory is used as references.

    Shapes: `push` takes (n, D) embeddings and (n,) labels; `references()` returns
    (filled, D) and (filled,) or None before `start_step`.

    Example:
        >>> xbm = CrossBatchMemory(size=16, dim=4, start_step=0)
        >>> xbm.push(torch.randn(8, 4), torch.arange(8) % 2)
        >>> rows, labels = xbm.references()
        >>> rows.shape, labels.shape
        (torch.Size([8, 4]), torch.Size([8]))

    [1] Wang, Zhang, Huang and Scott, "Cross-Batch Memory for Embedding Learning", CVPR 2020.
    """

    def __init__(self, size: int, dim: int, start_step: int = 0) -> None:
        super().__init__()
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        self.queue = FeatureQueue(size, dim, normalize_init=False)
        self.register_buffer("labels", torch.zeros(size, dtype=torch.long))
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))
        self.start_step = start_step

    @torch.no_grad()
    def push(self, embeddings: Tensor, labels: Tensor) -> None:
        """Write (n, D) embeddings and their (n,) labels over the oldest rows (n <= size)."""
        if labels.shape != (embeddings.shape[0],):
            raise ValueError(
                f"labels must have shape ({embeddings.shape[0]},), got {tuple(labels.shape)}"
            )
        n, size = embeddings.shape[0], self.queue.size
        index = (int(self.queue.ptr) + torch.arange(n, device=self.labels.device)) % size
        self.queue.push(embeddings)  # checks the shape; moves ptr and count
        self.labels.index_copy_(0, index, labels.to(self.labels))
        self.updates += 1

    def references(self) -> tuple[Tensor, Tensor] | None:
        """The stored (filled, D) rows and (filled,) labels, or None while warming up."""
        if int(self.updates) < self.start_step or self.queue.filled == 0:
            return None
        return self.queue.features(), self.labels[: self.queue.filled]

    def extra_repr(self) -> str:
        return f"start_step={self.start_step}"
