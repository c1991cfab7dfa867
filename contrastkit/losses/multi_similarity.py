"""Multi-similarity loss and its pair miner (Wang et al. 2019), on cosine similarities.

Queries are the batch's rows; references are the batch again or, with a cross-batch
memory (`contrastkit.nn.xbm`), the batch followed by detached past embeddings. A query
is never its own reference: the first N reference columns are the batch, and (i, i) is
masked.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.nn.distributed import gather_no_grad, gather_with_grad, require_distributed

__all__ = [
    "MultiSimilarityLoss",
    "multi_similarity_loss",
    "multi_similarity_miner",
    "multi_similarity_pairs",
]


def _check(embeddings: Tensor, labels: Tensor) -> None:
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be (N, D), got shape {tuple(embeddings.shape)}")
    if labels.shape != (embeddings.shape[0],):
        raise ValueError(
            f"labels must have shape ({embeddings.shape[0]},), got {tuple(labels.shape)}"
        )


def _references(
    embeddings: Tensor, labels: Tensor, memory: Tensor | None, memory_labels: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(N, M) cosine similarities of queries to references (float32), positive and
    negative masks (self excluded), and the references' labels."""
    refs, ref_labels = embeddings, labels
    if memory is not None:
        if memory_labels is None or memory_labels.shape != (memory.shape[0],):
            raise ValueError("memory_labels must have one label per memory row")
        refs = torch.cat([embeddings, memory.detach().to(embeddings.dtype)])
        ref_labels = torch.cat([labels, memory_labels.to(labels.device)])
    with torch.autocast(embeddings.device.type, enabled=False):
        q = F.normalize(embeddings.float(), dim=1)
        r = q if memory is None else F.normalize(refs.float(), dim=1)
        sim = q @ r.T
    n = embeddings.shape[0]
    same = labels[:, None] == ref_labels[None, :]
    self_mask = torch.zeros_like(same)
    self_mask[:, :n] = torch.eye(n, dtype=torch.bool, device=same.device)
    return sim, same & ~self_mask, ~same, ref_labels


def multi_similarity_pairs(
    similarity: Tensor, positive: Tensor, negative: Tensor, epsilon: float
) -> tuple[Tensor, Tensor]:
    """The multi-similarity miner's rule [1] (eqs. 6-7) on masks.

    A negative k of anchor i is kept when S_ik + epsilon > min_{positives p} S_ip (it is
    more similar than the anchor's hardest positive, less a margin); a positive k when
    S_ik - epsilon < max_{negatives n} S_in. A row without positives keeps no negative, one
    without negatives keeps no positive.

    Args:
        similarity: (N, M) similarities (read without gradient).
        positive: (N, M) bool, candidates of the same class (self excluded).
        negative: (N, M) bool, candidates of other classes.
        epsilon: >= 0, the mining margin (0.1 in [1]).

    Returns:
        (N, M) bool masks of the kept positives and negatives.
    """
    s = similarity.detach()
    hardest_positive = s.masked_fill(~positive, float("inf")).amin(dim=1, keepdim=True)
    hardest_negative = s.masked_fill(~negative, float("-inf")).amax(dim=1, keepdim=True)
    return positive & (s - epsilon < hardest_negative), negative & (s + epsilon > hardest_positive)


def multi_similarity_miner(
    embeddings: Tensor, labels: Tensor, epsilon: float = 0.1
) -> tuple[Tensor, Tensor]:
    """Ordered (anchor, positive) and (anchor, negative) pairs the miner of [1] keeps.

    Args:
        embeddings: (N, D), compared by cosine similarity.
        labels: (N,) integer labels.
        epsilon: >= 0, the mining margin.

    Returns:
        (P, 2) and (Q, 2) int64 index pairs in lexicographic order.

    Example:
        >>> pos, neg = multi_similarity_miner(torch.randn(8, 4), torch.arange(8) % 2)
    """
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}")
    _check(embeddings, labels)
    sim, positive, negative, _ = _references(embeddings, labels, None, None)
    positive, negative = multi_similarity_pairs(sim, positive, negative, epsilon)
    return positive.nonzero(), negative.nonzero()


def _check_settings(alpha: float, beta: float, epsilon: float | None) -> None:
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    if epsilon is not None and not epsilon >= 0:
        raise ValueError(f"epsilon must be >= 0 or None, got {epsilon}")


def _log1p_sum_exp(x: Tensor, keep: Tensor) -> Tensor:
    """Per row log(1 + sum_{k kept} exp(x_k)), stable and 0 (with finite gradient) when
    nothing is kept."""
    x = x.masked_fill(~keep, float("-inf"))
    return torch.cat([torch.zeros_like(x[:, :1]), x], dim=1).logsumexp(dim=1)


def multi_similarity_loss(
    embeddings: Tensor,
    labels: Tensor,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    epsilon: float | None = 0.1,
    *,
    memory: Tensor | None = None,
    memory_labels: Tensor | None = None,
    gather: bool = False,
) -> Tensor:
    """The multi-similarity loss [1] (eq. 12), with its miner (eqs. 6-7) built in.

    L = 1/N sum_i [ 1/alpha log(1 + sum_{k in P_i} exp(-alpha (S_ik - base)))
                    + 1/beta log(1 + sum_{k in N_i} exp(beta (S_ik - base))) ]

    S is the cosine similarity; P_i, N_i are the anchor's positives and negatives kept by
    the miner (all of them with `epsilon=None`). An empty set adds log(1) = 0; the sum is
    divided by every anchor N, as in [1]. Defaults: alpha = 2, beta = 50, epsilon = 0.1
    as in [1]; base (the paper's lambda) = 0.5 as in the authors' code and
    pytorch-metric-learning (the paper's text gives lambda = 1: pass base=1).

    Args:
        embeddings: (N, D) query embeddings, any float dtype (similarities in float32).
        labels: (N,) integer labels.
        alpha: > 0, the scale of the positive term.
        beta: > 0, the scale of the negative term.
        base: the similarity margin lambda.
        epsilon: the mining margin, or None to use every pair.
        memory: (M, D) extra references (a cross-batch memory), used without gradient.
        memory_labels: (M,) their labels.
        gather: score the global batch of every process (as `triplet_loss`).

    Returns:
        Scalar float32 loss.

    Prefer it over `triplet_loss` for supervised retrieval with class-balanced batches
    (`data.m_per_class`): it weighs every informative pair instead of one per anchor;
    `proxy_anchor_loss` converges faster when the number of classes is fixed.

    Example:
        >>> loss = multi_similarity_loss(torch.randn(8, 16), torch.arange(8) % 4)

    [1] Wang, Han, Huang, Dong and Scott, "Multi-Similarity Loss with General Pair
        Weighting for Deep Metric Learning", CVPR 2019.
    """
    _check_settings(alpha, beta, epsilon)
    _check(embeddings, labels)
    if gather:
        require_distributed()
        embeddings, labels = gather_with_grad(embeddings), gather_no_grad(labels.contiguous())
    sim, positive, negative, _ = _references(embeddings, labels, memory, memory_labels)
    if epsilon is not None:
        positive, negative = multi_similarity_pairs(sim, positive, negative, epsilon)
    with torch.autocast(embeddings.device.type, enabled=False):
        pos = _log1p_sum_exp(-alpha * (sim - base), positive) / alpha
        neg = _log1p_sum_exp(beta * (sim - base), negative) / beta
        return (pos + neg).mean()


class MultiSimilarityLoss(nn.Module):
    """Module form of `multi_similarity_loss`, validating its settings at construction.

    Example:
        >>> loss = MultiSimilarityLoss()(torch.randn(8, 16), torch.arange(8) % 4)
    """

    def __init__(
        self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5,
        epsilon: float | None = 0.1, *, gather: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        _check_settings(alpha, beta, epsilon)
        self.alpha, self.beta, self.base, self.epsilon = alpha, beta, base, epsilon
        self.gather = gather

    def forward(
        self, embeddings: Tensor, labels: Tensor, memory: Tensor | None = None,
        memory_labels: Tensor | None = None,
    ) -> Tensor:  # fmt: skip
        return multi_similarity_loss(
            embeddings, labels, self.alpha, self.beta, self.base, self.epsilon,
            memory=memory, memory_labels=memory_labels, gather=self.gather,
        )  # fmt: skip
