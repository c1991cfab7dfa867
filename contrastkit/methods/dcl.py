"""Decoupled contrastive learning: SimCLR without the positive in the denominator."""

from __future__ import annotations

from torch import nn

from contrastkit.losses.dcl import dcl_loss
from contrastkit.losses.info_nce import check_temperature
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


class DCL(Method):
    """DCL and DCLW [1].

    SimCLR's two views, encoder and head; the loss drops the positive pair from the
    softmax denominator (removing the negative-positive coupling that makes NT-Xent need
    large batches). With `weight_sigma` set, the positive term is weighted by
    w = 2 - N exp(sim_pos / sigma) / sum exp(sim / sigma) (DCLW, sigma 0.5 in [1]).

    Args:
        encoder: backbone with `output_dim`.
        temperature: tau (0.1 in [1]).
        weight_sigma: sigma of DCLW; None gives plain DCL.
        gather: take negatives from every process (torch.distributed), with gradients.
        proj_hidden_dim: hidden width of the 2-layer projection head.
        proj_dim: its output size.

    [1] Yeh et al., "Decoupled Contrastive Learning", ECCV 2022.
    """

    name = "dcl"
    summary = "DCL / DCLW: NT-Xent without the positive in the denominator (small batches)"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        temperature: float = 0.1,
        weight_sigma: float | None = None,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if weight_sigma is not None and weight_sigma <= 0:
            raise ValueError(f"weight_sigma must be > 0 or None, got {weight_sigma}")
        if gather:
            require_distributed()
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        self.temperature, self.weight_sigma, self.gather = temperature, weight_sigma, gather

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h1, h2 = encode_views(self.encoder, batch.views[:2])
        z1, z2 = encode_views(self.head, [h1, h2])
        loss = dcl_loss(
            z1,
            z2,
            temperature=self.temperature,
            weight_sigma=self.weight_sigma,
            gather=self.gather,
        )
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z1)}
        return Output(loss, metrics, embeddings=(h1, h2))
