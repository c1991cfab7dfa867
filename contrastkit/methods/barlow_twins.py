"""Barlow Twins: make the cross-correlation of two views' embeddings the identity."""

from __future__ import annotations

from torch import nn

from contrastkit.losses.barlow_twins import barlow_twins_loss
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    embedding_std,
    encode_views,
    encoder_dim,
)
from contrastkit.nn.distributed import require_distributed
from contrastkit.nn.heads import ProjectionHead


class BarlowTwins(Method):
    """Barlow Twins [1], algorithm 1.

    z1, z2 = projector(encoder(x1, x2)); each feature standardised over the batch;
    C = z1^T z2 / N; loss = sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2. Invariance
    on the diagonal, redundancy reduction off it; no negatives, no momentum.

    Args:
        encoder: backbone with `output_dim`.
        lambda_: weight of the off-diagonal terms (5e-3 in [1] for 8192 dimensions).
        gather: compute the batch statistics over every process (needs torch.distributed).
        proj_hidden_dim: hidden width of the projector, a 3-layer MLP with BatchNorm and
            ReLU between layers (8192 in [1]).
        proj_dim: the projector's output size (8192 in [1]).

    [1] Zbontar et al., "Barlow Twins: Self-Supervised Learning via Redundancy
        Reduction", ICML 2021.
    """

    name = "barlow_twins"
    summary = "Barlow Twins: cross-correlation of the two views' embeddings to identity"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        lambda_: float = 5e-3,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 2048,
    ) -> None:
        super().__init__(encoder)
        if lambda_ < 0:
            raise ValueError(f"lambda_ must be >= 0, got {lambda_}")
        if gather:
            require_distributed()
        self.head = head or ProjectionHead(
            encoder_dim(encoder), proj_hidden_dim, proj_dim, num_layers=3
        )
        self.lambda_, self.gather = lambda_, gather

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h1, h2 = encode_views(self.encoder, batch.views[:2])
        z1, z2 = encode_views(self.head, [h1, h2])
        loss = barlow_twins_loss(z1, z2, lambda_=self.lambda_, gather=self.gather)
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z1)}
        return Output(loss, metrics, embeddings=(h1, h2))
