"""A first-in first-out queue of embeddings kept as module buffers (saved in checkpoints)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class FeatureQueue(nn.Module):
    """Ring buffer of the last `size` embeddings (MoCo's dictionary, SwAV's queue).

    The rows and the write position are buffers, so `state_dict()` (and therefore every
    checkpoint) holds them and a resumed run continues with the same negatives.

    Args:
        size: number of rows kept.
        dim: embedding size.
        normalize_init: start with random unit vectors (MoCo) instead of zeros; `filled`
            tells how many real rows are in the queue either way.

    Shapes: `push` takes (n, dim); `features()` returns (filled, dim).
    """

    def __init__(self, size: int, dim: int, normalize_init: bool = True) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"queue size and dim must be >= 1, got size={size}, dim={dim}")
        init = torch.randn(size, dim)
        self.register_buffer("rows", F.normalize(init, dim=1) if normalize_init else init * 0)
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.rows.shape[0]

    @property
    def filled(self) -> int:
        return int(self.count)

    @torch.no_grad()
    def push(self, x: Tensor) -> None:
        """Write the rows of `x` (n, dim), n <= size, over the oldest ones."""
        n = x.shape[0]
        if x.ndim != 2 or x.shape[1] != self.rows.shape[1]:
            raise ValueError(
                f"queue rows have dim {self.rows.shape[1]}, got a batch of shape {tuple(x.shape)}"
            )
        if n > self.size:
            raise ValueError(f"cannot push {n} rows into a queue of size {self.size}")
        index = (int(self.ptr) + torch.arange(n, device=x.device)) % self.size
        self.rows.index_copy_(0, index, x.detach().to(self.rows.dtype))
        self.ptr.fill_((int(self.ptr) + n) % self.size)
        self.count.fill_(min(int(self.count) + n, self.size))

    def features(self) -> Tensor:
        """The rows written so far (filled, dim), in storage order (not by age)."""
        return self.rows if self.filled == self.size else self.rows[: self.filled]

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.rows.shape[1]}"
