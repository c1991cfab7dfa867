"""Metric learning with pair, triplet and multi-similarity losses: positives by label, or by
item identity; optionally a cross-batch memory of past embeddings."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from contrastkit.losses.metric import contrastive_loss, instance_labels, triplet_loss
from contrastkit.losses.multi_similarity import MultiSimilarityLoss
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    embedding_std,
    encode_views,
    encoder_dim,
    head_dim,
)
from contrastkit.nn.distributed import gather_no_grad, rank, require_distributed
from contrastkit.nn.heads import ProjectionHead
from contrastkit.nn.xbm import CrossBatchMemory


class LabelledEmbeddings(Method):
    """Shared part of the label-driven metric losses: embed every view, build labels, hand
    (embeddings, labels) to `_loss`, optionally with a cross-batch memory.

    With `use_labels` the dataset's labels decide positives (supervised metric learning);
    without, the views of one item are its positives and every other item is a negative
    (self-supervised, like SimCLR but with a margin loss). Given hard negatives
    (`batch.negatives`, e.g. text triplets) join the batch with labels of their own, so
    they are every anchor's negatives and nobody's positives. With `gather` the pairs or
    triplets are mined over the global batch of every process.

    With `memory_size > 0` (needs `use_labels`) a `CrossBatchMemory` of the last
    `memory_size` embeddings and labels serves as extra references once `memory_start`
    steps have been applied [1]; this step's embeddings are written in `on_step_end`, so
    a skipped step leaves the memory as it was.

    [1] Wang, Zhang, Huang and Scott, "Cross-Batch Memory for Embedding Learning", CVPR 2020.
    """

    uses_negatives = True

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None,
        *,
        use_labels: bool,
        gather: bool,
        proj_hidden_dim: int,
        proj_dim: int,
        memory_size: int = 0,
        memory_start: int = 0,
    ) -> None:
        super().__init__(encoder)
        if gather:
            require_distributed()
        if memory_size < 0:
            raise ValueError(f"memory_size must be >= 0, got {memory_size}")
        if memory_size and not use_labels:
            raise ValueError(
                "memory_size > 0 (cross-batch memory) needs use_labels=True: item labels "
                "repeat from batch to batch"
            )
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        self.use_labels, self.gather = use_labels, gather
        self.needs_labels = use_labels
        self.memory = None
        if memory_size:
            out_dim = head_dim(self.head, encoder, proj_dim)
            self.memory = CrossBatchMemory(memory_size, out_dim, memory_start)
        self.pending: tuple[Tensor, Tensor] | None = None  # written in on_step_end

    def _loss(
        self, embeddings: Tensor, labels: Tensor, memory: tuple[Tensor, Tensor] | None
    ) -> Tensor:
        raise NotImplementedError

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
        views, view_labels = torch.cat(z), labels
        if batch.negatives is not None:  # own labels below every item's: never a positive
            z.append(self.head(self.encoder(batch.negatives)))
            labels = torch.cat([labels, -1 - offset - torch.arange(n, device=labels.device)])
        memory = self.memory.references() if self.memory is not None else None
        loss = self._loss(torch.cat(z), labels, memory)
        if self.memory is not None:
            rows, row_labels = views.detach(), view_labels
            if self.gather:
                rows, row_labels = gather_no_grad(rows), gather_no_grad(row_labels.contiguous())
            self.pending = (rows, row_labels)
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z[0])}
        return Output(loss, metrics, embeddings=(h[0], h[1]))

    def on_step_end(self, progress: float) -> None:
        if self.memory is not None and self.pending is not None:
            self.memory.push(*self.pending)
        self.pending = None


class _MetricMethod(LabelledEmbeddings):
    """A margin loss with a miner: `loss_fn(embeddings, labels, margin, metric, miner,
    gather=, memory=, memory_labels=)`."""

    loss_fn: Callable[..., Tensor]

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
        memory_size: int,
        memory_start: int,
    ) -> None:
        super().__init__(
            encoder, head, use_labels=use_labels, gather=gather,
            proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim,
            memory_size=memory_size, memory_start=memory_start,
        )  # fmt: skip
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        type(self).loss_fn(torch.zeros(2, 2), torch.tensor([0, 1]), margin, metric, miner)
        self.margin, self.metric, self.miner = margin, metric, miner

    def _loss(
        self, embeddings: Tensor, labels: Tensor, memory: tuple[Tensor, Tensor] | None
    ) -> Tensor:
        rows, row_labels = memory if memory is not None else (None, None)
        return type(self).loss_fn(
            embeddings, labels, self.margin, self.metric, self.miner, gather=self.gather,
            memory=rows, memory_labels=row_labels,
        )  # fmt: skip


class Triplet(_MetricMethod):
    """Triplet loss [1, 2] with in-batch mining: mean of relu(d(a, p) - d(a, n) + margin).

    Args:
        encoder: backbone with `output_dim`.
        margin: the triplet margin.
        metric: "euclidean" or "cosine" distance (on the head's output).
        miner: "batch_all", "batch_hard" [2] or "semi_hard" [1].
        use_labels: positives by class label (supervised); False: by item (views).
        memory_size: rows of a cross-batch memory (XBM) used as extra references (0: none;
            needs use_labels).
        memory_start: applied steps before the memory is used.

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
        memory_size: int = 0,
        memory_start: int = 0,
    ) -> None:
        super().__init__(
            encoder, head, margin=margin, metric=metric, miner=miner, use_labels=use_labels,
            gather=gather, proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim,
            memory_size=memory_size, memory_start=memory_start,
        )  # fmt: skip


class PairContrastive(_MetricMethod):
    """The margin-based contrastive loss [1]: pull positive pairs together, push negative
    pairs beyond `margin`.

    Args:
        encoder: backbone with `output_dim`.
        margin: negatives closer than this are penalised, (margin - d)^2.
        metric: "euclidean" or "cosine".
        miner: "all" pairs or "hard" pairs.
        use_labels: positives by class label (supervised); False: by item (views).
        memory_size: rows of a cross-batch memory (XBM) used as extra references (0: none;
            needs use_labels).
        memory_start: applied steps before the memory is used.

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
        memory_size: int = 0,
        memory_start: int = 0,
    ) -> None:
        super().__init__(
            encoder, head, margin=margin, metric=metric, miner=miner, use_labels=use_labels,
            gather=gather, proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim,
            memory_size=memory_size, memory_start=memory_start,
        )  # fmt: skip


class MultiSimilarity(LabelledEmbeddings):
    """Multi-similarity loss with its miner [1]; best with class-balanced batches
    (`data.m_per_class`) and optionally a cross-batch memory [2].

    Args:
        encoder: backbone with `output_dim`.
        alpha: the positive scale (2 in [1]).
        beta: the negative scale (50 in [1]).
        base: the similarity margin lambda (0.5 as the authors' code; [1]'s text: 1).
        epsilon: the miner's margin (0.1 in [1]); None: every pair.
        use_labels: positives by class label (supervised); False: by item (views).
        memory_size: rows of a cross-batch memory (see `LabelledEmbeddings`); 0: none.
        memory_start: applied steps before the memory is used.

    [1] Wang et al., "Multi-Similarity Loss with General Pair Weighting for Deep Metric
        Learning", CVPR 2019.
    [2] Wang et al., "Cross-Batch Memory for Embedding Learning", CVPR 2020.
    """

    name = "multi_similarity"
    needs_labels = True  # by default; use_labels=False trains on item identity
    summary = "multi-similarity loss and miner (Wang et al. 2019), optional cross-batch memory"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        alpha: float = 2.0,
        beta: float = 50.0,
        base: float = 0.5,
        epsilon: float | None = 0.1,
        use_labels: bool = True,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
        memory_size: int = 0,
        memory_start: int = 0,
    ) -> None:
        super().__init__(
            encoder, head, use_labels=use_labels, gather=gather,
            proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim,
            memory_size=memory_size, memory_start=memory_start,
        )  # fmt: skip
        self.loss_fn = MultiSimilarityLoss(alpha, beta, base, epsilon, gather=gather)

    def _loss(
        self, embeddings: Tensor, labels: Tensor, memory: tuple[Tensor, Tensor] | None
    ) -> Tensor:
        rows, row_labels = memory if memory is not None else (None, None)
        return self.loss_fn(embeddings, labels, rows, row_labels)
