"""Multiple-negatives ranking loss: supervised SimCSE, in-batch negatives plus hard negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.nn.distributed import gather_with_grad, rank, require_distributed

__all__ = ["MultipleNegativesRankingLoss", "multiple_negatives_ranking"]


def multiple_negatives_ranking(
    anchor: Tensor,
    positive: Tensor,
    negatives: Tensor | None = None,
    *,
    temperature: float | Tensor = 0.05,
    symmetric: bool = False,
    gather: bool = False,
) -> Tensor:
    """Cross-entropy of each anchor over all positives and all hard negatives [1, 2].

    Anchor i's target is positive i; the other rows' positives and every hard negative of
    the batch are its negatives (cosine similarity / temperature). This is supervised
    SimCSE [1] with one hard negative per row and sentence-transformers'
    MultipleNegativesRankingLoss [2] (scale 20 = temperature 0.05).

    Args:
        anchor: (N, D) anchor embeddings (queries, premises).
        positive: (N, D) embeddings, row i the positive of anchor i.
        negatives: optional (N, D) or (N, K, D) hard negatives (K per anchor), shared by
            all anchors as extra columns.
        temperature: tau > 0.
        symmetric: also rank anchors for each positive (in-batch anchors only) and average
            both directions.
        gather: in distributed training, use every process's positives and negatives (and
            anchors, if symmetric) as columns, with a gradient; the mean of the ranks'
            losses equals the loss of the whole batch.

    Returns:
        Scalar float32 loss.

    Prefer `info_nce` when there are no hard negatives and no gather (same value), and
    `nt_xent` for two interchangeable augmented views of the same item.

    Example:
        >>> a, p, n = torch.randn(8, 32), torch.randn(8, 32), torch.randn(8, 2, 32)
        >>> loss = multiple_negatives_ranking(a, p, n, temperature=0.05)

    [1] Gao et al., "SimCSE: Simple Contrastive Learning of Sentence Embeddings", EMNLP 2021.
    [2] Henderson et al., "Efficient Natural Language Response Suggestion for Smart Reply",
        2017.
    """
    if anchor.ndim != 2 or positive.shape != anchor.shape:
        raise ValueError(
            f"anchor and positive must both be (N, D); got {tuple(anchor.shape)} and "
            f"{tuple(positive.shape)}"
        )
    if negatives is not None:
        given = tuple(negatives.shape)
        if negatives.ndim == 2:
            negatives = negatives[:, None]
        if (
            negatives.ndim != 3
            or negatives.shape[0] != anchor.shape[0]
            or (negatives.shape[2] != anchor.shape[1])
        ):
            raise ValueError(
                f"negatives must be (N, D) or (N, K, D) with N={anchor.shape[0]}, "
                f"D={anchor.shape[1]}; got {given}"
            )
    check_temperature(temperature)
    if gather:
        require_distributed()
    n = anchor.shape[0]
    with torch.autocast(anchor.device.type, enabled=False):
        a = F.normalize(anchor.float(), dim=1)
        p = F.normalize(positive.float(), dim=1)
        columns = gather_with_grad(p) if gather else p
        if negatives is not None:
            neg = F.normalize(negatives.float(), dim=2).flatten(0, 1)
            columns = torch.cat([columns, gather_with_grad(neg) if gather else neg], dim=0)
        target = torch.arange(n, device=anchor.device) + (rank() * n if gather else 0)
        loss = F.cross_entropy(a @ columns.T / temperature, target)
        if symmetric:
            a_cols = gather_with_grad(a) if gather else a
            loss = (loss + F.cross_entropy(p @ a_cols.T / temperature, target)) / 2
    return loss


class MultipleNegativesRankingLoss(nn.Module):
    """Module form of `multiple_negatives_ranking` (state: temperature, symmetric, gather)."""

    def __init__(
        self, temperature: float = 0.05, *, symmetric: bool = False, gather: bool = False
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        if gather:
            require_distributed()
        self.temperature, self.symmetric, self.gather = temperature, symmetric, gather

    def forward(self, anchor: Tensor, positive: Tensor, negatives: Tensor | None = None) -> Tensor:
        return multiple_negatives_ranking(
            anchor,
            positive,
            negatives,
            temperature=self.temperature,
            symmetric=self.symmetric,
            gather=self.gather,
        )
