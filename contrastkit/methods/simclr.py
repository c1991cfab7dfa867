"""SimCLR: two augmented views, one encoder, a projection head and NT-Xent."""

from __future__ import annotations

from torch import nn

from contrastkit.losses.hard_negative import hard_negative_nt_xent
from contrastkit.losses.info_nce import check_temperature, nt_xent
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    encode_views,
    encoder_dim,
)
from contrastkit.nn.distributed import gather_with_grad, require_distributed
from contrastkit.nn.heads import ProjectionHead


class SimCLR(Method):
    """SimCLR [1].

    For a batch of N items with V views: encode all V*N views in one pass (BatchNorm
    statistics over all views; multi-crop views of another size in a second pass),
    project with an MLP head, and pull each item's views together against all other
    views in the batch with NT-Xent.

    Args:
        encoder: backbone with an `output_dim` attribute, (B, C, H, W) -> (B, output_dim).
        head: projection head; default `ProjectionHead(output_dim, proj_hidden_dim, proj_dim)`.
        temperature: NT-Xent temperature (SimCLR: 0.5 for small batches, 0.1 for large).
        gather: take negatives from every process (torch.distributed), with gradients.
            Given hard negatives (`batch.negatives`, e.g. text triplets) are extra
            columns of every anchor (also gathered).
        hard_negative_beta: concentration beta of hard-negative weighting [2]: negatives
            weighted by exp(beta * similarity / temperature) (normalised to mean 1), so
            harder negatives count more; 0 gives plain NT-Xent. Two views only.
        proj_hidden_dim: hidden width of the default head.
        proj_dim: output size of the default head (128 in the paper).

    Example:
        >>> method = SimCLR(CompactCNN(in_channels=1), temperature=0.2)
        >>> out = method.training_step(Batch(views=[x1, x2]))
        >>> out.loss.backward()

    [1] Chen et al., "A Simple Framework for Contrastive Learning of Visual
        Representations", ICML 2020.
    [2] Robinson et al., "Contrastive Learning with Hard Negative Samples", ICLR 2021.
    """

    name = "simclr"
    summary = "two views, one encoder, NT-Xent against every other view in the batch"
    uses_negatives = True

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        temperature: float = 0.2,
        gather: bool = False,
        hard_negative_beta: float = 0.0,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if hard_negative_beta < 0:
            raise ValueError(f"hard_negative_beta must be >= 0, got {hard_negative_beta}")
        if gather:
            require_distributed()
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        self.temperature = temperature
        self.gather = gather
        self.hard_negative_beta = hard_negative_beta

    def represent(self, views) -> tuple[list, list]:
        h = encode_views(self.encoder, views)
        return h, encode_views(self.head, h)

    def objective(self, z, batch: Batch):
        if self.hard_negative_beta > 0:
            if batch.negatives is not None:
                raise ValueError("hard_negative_beta > 0 does not take given hard negatives")
            if len(z) != 2:
                raise ValueError(f"hard_negative_beta > 0 works with 2 views, got {len(z)} views")
            return hard_negative_nt_xent(
                z[0],
                z[1],
                temperature=self.temperature,
                beta=self.hard_negative_beta,
                gather=self.gather,
            )
        negatives = None
        if batch.negatives is not None:
            negatives = self.head(self.encoder(batch.negatives))
            negatives = gather_with_grad(negatives) if self.gather else negatives
        return nt_xent(*z, temperature=self.temperature, negatives=negatives, gather=self.gather)

    def training_step(self, batch: Batch) -> Output:
        return self.represent_and_score(batch)
