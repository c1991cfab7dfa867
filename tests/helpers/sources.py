"""A tiny BatchSource for trainer tests: two fixed noisy views of random 12-d items."""

from __future__ import annotations

import torch

from contrastkit.methods.base import Batch


class NoisyPairs:
    """Items x (N, 12) with two fixed noise draws as views; the same on every process."""

    def __init__(self, n: int = 96) -> None:
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(n, 12, generator=g)
        self.noise = [0.1 * torch.randn(n, 12, generator=g) for _ in range(2)]

    def __len__(self) -> int:
        return len(self.x)

    def order(self, seed: int, batch_size: int) -> torch.Tensor:
        return torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))

    def batch(self, index: torch.Tensor, generator: torch.Generator) -> Batch:
        return Batch(views=[self.x[index] + e[index] for e in self.noise], index=index)


class DrawnPairs(NoisyPairs):
    """Views drawn from the trainer's view generator, so resuming must restore its state."""

    def batch(self, index: torch.Tensor, generator: torch.Generator) -> Batch:
        x = self.x[index]
        noise = [0.1 * torch.randn(x.shape, generator=generator) for _ in range(2)]
        return Batch(views=[x + e for e in noise], index=index)
