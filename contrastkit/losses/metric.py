"""Margin losses of metric learning on labelled embeddings: the pair contrastive loss and
the triplet loss, each over pairs or triplets chosen by an in-batch miner.

Labels decide who is whose positive: class labels for supervised metric learning, or
`instance_labels` for self-supervised training, where the views of one item share a label.
Distances are computed in float32 whatever the input dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.miners import (
    METRICS,
    PAIR_MINERS,
    TRIPLET_MINERS,
    check_choice,
    check_margin,
    mine_pairs,
    mine_triplets,
    pairwise_distance,
)
from contrastkit.nn.distributed import gather_no_grad, gather_with_grad, require_distributed


def instance_labels(n: int, v: int) -> Tensor:
    """Labels for V views of N items stacked view after view (view 0's rows, then view 1's).

    Args:
        n: number of items N >= 1.
        v: number of views V >= 1.

    Returns:
        (N * V,) int64 tensor arange(N).repeat(V): row k * N + i belongs to item i.

    Example:
        >>> instance_labels(3, 2).tolist()
        [0, 1, 2, 0, 1, 2]
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if v < 1:
        raise ValueError(f"v must be >= 1, got {v}")
    return torch.arange(n).repeat(v)


def _check_embeddings(embeddings: Tensor) -> None:
    if embeddings.ndim != 2:
        raise ValueError(
            f"embeddings must be a 2-D (N, D) tensor, got shape {tuple(embeddings.shape)}"
        )


def _global_batch(embeddings: Tensor, labels: Tensor, gather: bool) -> tuple[Tensor, Tensor]:
    """Every process's rows (with a gradient back to each) and labels, in rank order.

    Mining needs all pairs of the global batch, so each process scores the whole global
    batch (memory quadratic in the global batch, as on one process). The all-gather's
    backward sums the identical gradients of the W processes and the trainer averages
    gradients over processes, so the step equals one process training on the whole batch.
    Labels must already be global (instance labels offset by rank).
    """
    if not gather:
        return embeddings, labels
    require_distributed()
    return gather_with_grad(embeddings), gather_no_grad(labels.contiguous())


def _with_memory(
    embeddings: Tensor, labels: Tensor, memory: Tensor | None, memory_labels: Tensor | None
) -> tuple[Tensor, Tensor]:
    """The batch followed by a cross-batch memory's rows (detached) and labels, if any.

    Only pairs or triplets anchored in the batch (index < N) are scored afterwards.
    """
    if memory is None:
        return embeddings, labels
    if memory_labels is None or memory_labels.shape != (memory.shape[0],):
        raise ValueError("memory_labels must have one label per memory row")
    rows = torch.cat([embeddings, memory.detach().to(embeddings.dtype)])
    return rows, torch.cat([labels, memory_labels.to(labels.device)])


def _mean_or_zero(values: Tensor) -> Tensor:
    """Mean of `values`, or 0 still attached to the graph when there are none."""
    return values.sum() / max(values.numel(), 1)


def contrastive_loss(
    embeddings: Tensor,
    labels: Tensor,
    margin: float = 0.5,
    metric: str = "cosine",
    miner: str = "all",
    *,
    gather: bool = False,
    memory: Tensor | None = None,
    memory_labels: Tensor | None = None,
) -> Tensor:
    """The margin-based (pair) contrastive loss of Hadsell, Chopra and LeCun [1].

    A positive pair pays d^2, a negative pair relu(margin - d)^2, so negatives farther
    apart than the margin cost nothing. The loss is the mean over the mined positive pairs
    plus the mean over the mined negative pairs (each unordered pair once; the two means
    keep the rare positives from being swamped by the many negatives). A kind of pair that
    does not occur contributes 0, and the result stays attached to the graph. The 1/2
    factors of [1] are dropped.

    Args:
        embeddings: (N, D) embeddings, any float dtype (distances in float32).
        labels: (N,) integer labels; equal labels make a positive pair.
        margin: >= 0, the distance beyond which negatives are not penalised.
        metric: "cosine" (1 - cosine similarity, in [0, 2]) or "euclidean" (L2 on the raw
            embeddings); see `pairwise_distance`.
        miner: "all" pairs or "hard" pairs only (see `mine_pairs`).
        gather: in distributed training, mine and score the pairs of every process's rows
            (`_global_batch`): the value is the whole global batch's loss on every process.
        memory: (M, D) extra references from a cross-batch memory (no gradient); pairs
            are then those with at least one end in the batch.
        memory_labels: (M,) their labels.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: margin < 0, unknown metric or miner, embeddings not 2-D, or labels
            that do not match the rows.

    Prefer `triplet_loss` when only the ranking of distances matters (retrieval), and
    InfoNCE-family losses (`nt_xent`, SupCon) for large batches: this loss looks
    at each pair on its own and needs its margin tuned to the metric.

    Example:
        >>> z, y = torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
        >>> loss = contrastive_loss(z, y, margin=0.5, metric="cosine", miner="hard")

    [1] Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an Invariant
        Mapping", CVPR 2006.
    """
    check_margin(margin)
    check_choice("metric", metric, METRICS)
    check_choice("miner", miner, PAIR_MINERS)
    _check_embeddings(embeddings)
    embeddings, labels = _global_batch(embeddings, labels, gather)
    n = embeddings.shape[0]
    embeddings, labels = _with_memory(embeddings, labels, memory, memory_labels)

    distances = pairwise_distance(embeddings, metric)
    positives, negatives = mine_pairs(distances, labels, miner)
    positives, negatives = positives[positives[:, 0] < n], negatives[negatives[:, 0] < n]
    with torch.autocast(embeddings.device.type, enabled=False):
        d_pos = distances[positives[:, 0], positives[:, 1]]
        d_neg = distances[negatives[:, 0], negatives[:, 1]]
        return _mean_or_zero(d_pos.pow(2)) + _mean_or_zero(F.relu(margin - d_neg).pow(2))


def triplet_loss(
    embeddings: Tensor,
    labels: Tensor,
    margin: float = 0.2,
    metric: str = "cosine",
    miner: str = "batch_hard",
    *,
    gather: bool = False,
    memory: Tensor | None = None,
    memory_labels: Tensor | None = None,
) -> Tensor:
    """The triplet loss [1, 2]: relu(d(a, p) - d(a, n) + margin) over mined triplets.

    Averaging: "batch_hard" and "semi_hard" take the mean over all mined triplets (one
    per anchor, resp. at most one per anchor-positive pair); "batch_all" takes the mean
    over the triplets with a positive loss only, the "BA≠0" variant of [2], since the mean
    over all valid triplets is dominated by the many easy ones and fades as training
    proceeds. With no (active) triplet the loss is 0, still attached to the graph.

    Args:
        embeddings: (N, D) embeddings, any float dtype (distances in float32).
        labels: (N,) integer labels; positives share the anchor's label.
        margin: >= 0, the required gap d(a, n) - d(a, p); also the width of the semi-hard
            band.
        metric: "cosine" or "euclidean" (see `pairwise_distance`).
        miner: "batch_all", "batch_hard" or "semi_hard" (see `mine_triplets`).
        gather: in distributed training, mine and score the triplets of every process's
            rows (`_global_batch`): the value is the whole global batch's loss everywhere.
        memory: (M, D) extra references from a cross-batch memory (no gradient); anchors
            stay the batch's rows, positives and negatives come from batch and memory.
        memory_labels: (M,) their labels.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: margin < 0, unknown metric or miner, embeddings not 2-D, or labels
            that do not match the rows.

    Prefer `contrastive_loss` when absolute distances should mean something (a fixed
    threshold for "same"), and an InfoNCE loss when batches are large: it weighs every
    negative at once instead of one per anchor.

    Example:
        >>> z, y = torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
        >>> loss = triplet_loss(z, y, margin=0.2, metric="euclidean", miner="batch_all")

    [1] Schroff, Kalenichenko and Philbin, "FaceNet: A Unified Embedding for Face
        Recognition and Clustering", CVPR 2015.
    [2] Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
        Re-Identification", 2017, sec. 2.
    """
    check_margin(margin)
    check_choice("metric", metric, METRICS)
    check_choice("miner", miner, TRIPLET_MINERS)
    _check_embeddings(embeddings)
    embeddings, labels = _global_batch(embeddings, labels, gather)
    n = embeddings.shape[0]
    embeddings, labels = _with_memory(embeddings, labels, memory, memory_labels)

    distances = pairwise_distance(embeddings, metric)
    triplets = mine_triplets(distances, labels, miner, margin)
    anchor, positive, negative = triplets[triplets[:, 0] < n].unbind(dim=1)
    with torch.autocast(embeddings.device.type, enabled=False):
        losses = F.relu(distances[anchor, positive] - distances[anchor, negative] + margin)
        if miner == "batch_all":
            return losses.sum() / (losses > 0).sum().clamp(min=1)
        return _mean_or_zero(losses)


class ContrastiveLoss(nn.Module):
    """Module form of `contrastive_loss`, validating its settings at construction.

    Args:
        margin: >= 0, negatives farther than this cost nothing.
        metric: "cosine" or "euclidean".
        miner: "all" or "hard".

    Example:
        >>> loss_fn = ContrastiveLoss(margin=0.5, miner="hard")
        >>> loss = loss_fn(torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    """

    def __init__(
        self, margin: float = 0.5, metric: str = "cosine", miner: str = "all", *,
        gather: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        check_margin(margin)
        check_choice("metric", metric, METRICS)
        check_choice("miner", miner, PAIR_MINERS)
        self.margin, self.metric, self.miner, self.gather = margin, metric, miner, gather

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return contrastive_loss(
            embeddings, labels, self.margin, self.metric, self.miner, gather=self.gather
        )

    def extra_repr(self) -> str:
        return f"margin={self.margin}, metric={self.metric!r}, miner={self.miner!r}"


class TripletLoss(nn.Module):
    """Module form of `triplet_loss`, validating its settings at construction.

    Args:
        margin: >= 0, the required gap d(a, n) - d(a, p).
        metric: "cosine" or "euclidean".
        miner: "batch_all", "batch_hard" or "semi_hard".

    Example:
        >>> loss_fn = TripletLoss(margin=0.2, miner="semi_hard")
        >>> loss = loss_fn(torch.randn(8, 16), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    """

    def __init__(
        self, margin: float = 0.2, metric: str = "cosine", miner: str = "batch_hard", *,
        gather: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        check_margin(margin)
        check_choice("metric", metric, METRICS)
        check_choice("miner", miner, TRIPLET_MINERS)
        self.margin, self.metric, self.miner, self.gather = margin, metric, miner, gather

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return triplet_loss(
            embeddings, labels, self.margin, self.metric, self.miner, gather=self.gather
        )

    def extra_repr(self) -> str:
        return f"margin={self.margin}, metric={self.metric!r}, miner={self.miner!r}"
