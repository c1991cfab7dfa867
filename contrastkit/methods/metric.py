"""Metric learning with pair and triplet losses: positives by label, or by item identity."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from contrastkit.losses.metric import contrastive_loss, instance_labels, triplet_loss
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    embedding_std,
    encode_views,
    encoder_dim,
)
from contrastkit.nn.distributed import rank, require_distributed
from contrastkit.nn.heads import ProjectionHead


class _MetricMethod(Method):
    """Shared part: embed every view, build labels, hand (embeddings, labels) to a loss.

    With `use_labels` the dataset's labels decide positives (supervised metric learning);
    without, the views of one item are its positives and every other item is a negative
    (self-supervised, like SimCLR but with a margin loss). Given hard negatives
    (`batch.negatives`, e.g. text triplets) join the batch with labels of their own, so
    they are every anchor's negatives and nobody's positives. With `gather` the pairs or
    triplets are mined over the global batch of every process.
    """

    uses_negatives = True
    loss_fn: Callable[..., Tensor]  # (embeddings, labels, margin, metric, miner, gather=)

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None,
        *,
        margin: float,
        metric: str,
        miner: str,
        use_labels: bool,
        gather: bool,
        proj_hidden_dim: int,
        proj_dim: int,
    ) -> None:
        super().__init__(encoder)
        if gather:
            require_distributed()
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        type(self).loss_fn(torch.zeros(2, 2), torch.tensor([0, 1]), margin, metric, miner)
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        self.margin, self.metric, self.miner = margin, metric, miner
        self.use_labels, self.gather = use_labels, gather
        self.needs_labels = use_labels

    def _loss(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return type(self).loss_fn(
            embeddings, labels, self.margin, self.metric, self.miner, gather=self.gather
        )

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h = encode_views(self.encoder, batch.views)
        z = encode_views(self.head, h)
        n, v = z[0].shape[0], len(z)
        offset = rank() * n if self.gather else 0  # item labels unique across processes
        if self.use_labels:
            labels = batch.labels.repeat(v)  # type: ignore[union-attr]
        else:
            labels = instance_labels(n, v).to(z[0].device) + offset
        if batch.negatives is not None:  # own labels below every item's: never a positive
            z.append(self.head(self.encoder(batch.negatives)))
            labels = torch.cat([labels, -1 - offset - torch.arange(n, device=labels.device)])
        loss = self._loss(torch.cat(z), labels)
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z[0])}
        return Output(loss, metrics, embeddings=(h[0], h[1]))


class Triplet(_MetricMethod):
    """Triplet loss [1, 2] with in-batch mining: mean of relu(d(a, p) - d(a, n) + margin).

    Args:
        encoder: backbone with `output_dim`.
        margin: the triplet margin.
        metric: "euclidean" or "cosine" distance (on the head's output).
        miner: "batch_all", "batch_hard" [2] or "semi_hard" [1].
        use_labels: positives by class label (supervised); False: by item (views).

    [1] Schroff, Kalenichenko and Philbin, "FaceNet", CVPR 2015.
    [2] Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
        Re-Identification", 2017.
    """

    name = "triplet"
    loss_fn = staticmethod(triplet_loss)
    summary = "triplet loss with batch-all / batch-hard / semi-hard mining"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        margin: float = 0.2,
        metric: str = "cosine",
        miner: str = "batch_hard",
        use_labels: bool = False,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(
            encoder,
            head,
            margin=margin,
            metric=metric,
            miner=miner,
            use_labels=use_labels,
            gather=gather,
            proj_hidden_dim=proj_hidden_dim,
            proj_dim=proj_dim,
        )


class PairContrastive(_MetricMethod):
    """The margin-based contrastive loss [1]: pull positive pairs together, push negative
    pairs beyond `margin`.

    Args:
        encoder: backbone with `output_dim`.
        margin: negatives closer than this are penalised, (margin - d)^2.
        metric: "euclidean" or "cosine".
        miner: "all" pairs or "hard" pairs.
        use_labels: positives by class label (supervised); False: by item (views).

    [1] Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an Invariant
        Mapping", CVPR 2006.
    """

    name = "contrastive"
    loss_fn = staticmethod(contrastive_loss)
    summary = "margin-based pair contrastive loss (Hadsell et al.) with pair mining"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        margin: float = 0.5,
        metric: str = "cosine",
        miner: str = "all",
        use_labels: bool = False,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(
            encoder,
            head,
            margin=margin,
            metric=metric,
            miner=miner,
            use_labels=use_labels,
            gather=gather,
            proj_hidden_dim=proj_hidden_dim,
            proj_dim=proj_dim,
        )
