"""Supervised contrastive learning: every item of the same class is a positive."""

from __future__ import annotations

from torch import nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.losses.supcon import supcon_loss
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    encode_views,
    encoder_dim,
)
from contrastkit.nn.distributed import require_distributed
from contrastkit.nn.heads import ProjectionHead


class SupCon(Method):
    """SupCon [1]: SimCLR's architecture with the labels deciding the positives.

    All V views of the batch are anchors; the other views of the same item and every view
    of an item with the same label are positives; the loss averages -log softmax over the
    positives (L_out, eq. 2 of [1]). With all labels distinct it is SimCLR's NT-Xent.

    Args:
        encoder: backbone with `output_dim`.
        temperature: tau (0.1 in [1]).
        gather: take anchors' candidates (and their labels) from every process.
        proj_hidden_dim: hidden width of the 2-layer projection head (2048 in [1]).
        proj_dim: its output size (128 in [1]).

    [1] Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020.
    """

    name = "supcon"
    summary = "SupCon: supervised contrastive, same-label items are positives"
    needs_labels = True

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        temperature: float = 0.1,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if gather:
            require_distributed()
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        self.temperature, self.gather = temperature, gather

    def represent(self, views) -> tuple[list, list]:
        h = encode_views(self.encoder, views)
        return h, encode_views(self.head, h)

    def objective(self, z, batch: Batch):
        return supcon_loss(
            *z, labels=batch.labels, temperature=self.temperature, gather=self.gather
        )

    def training_step(self, batch: Batch) -> Output:
        return self.represent_and_score(batch)
