"""What the trainer sees of a method: `training_step(batch) -> Output` and `on_step_end`."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class Batch:
    """One training batch.

    Attributes:
        views: V tensors (B, ...) of views, row i of each from item i.
        labels: (B,) int64 labels when the data has them (unused by self-supervised methods).
        index: (B,) int64 positions of the items in the dataset (for logs and debugging).
    """

    views: list[Tensor]
    labels: Tensor | None = None
    index: Tensor | None = None


@dataclass
class Output:
    """What a training step returns.

    Attributes:
        loss: scalar tensor to back-propagate.
        metrics: floats to log (loss terms, collapse indicators); computed without grad.
    """

    loss: Tensor
    metrics: dict[str, float] = field(default_factory=dict)


class Method(nn.Module):
    """Base class of self-supervised methods.

    A method owns its encoder (the network whose features are kept after training),
    heads, momentum copies and queues. Subclasses implement `training_step`.
    """

    name: str = "method"

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        self.encoder = encoder

    def training_step(self, batch: Batch) -> Output:
        raise NotImplementedError

    def on_step_end(self, progress: float) -> None:
        """Called after each optimiser step with training progress in [0, 1] (EMA updates)."""

    @torch.no_grad()
    def embed(self, x: Tensor) -> Tensor:
        """Frozen representation for downstream use: (B, ...) -> (B, D) encoder features."""
        return self.encoder(x)


@torch.no_grad()
def embedding_std(z: Tensor) -> float:
    """Mean per-dimension std of L2-normalised embeddings, times sqrt(D).

    About 1 for embeddings spread over the sphere, 0 for collapse to one point [1].

    [1] Chen and He, "Exploring Simple Siamese Representation Learning", CVPR 2021, sec. 4.
    """
    z = F.normalize(z.detach().float(), dim=1)
    return float(z.std(dim=0).mean() * z.shape[1] ** 0.5)
