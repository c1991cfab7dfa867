"""CoSENT and AnglE: ranking losses for text pairs with a similarity score."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.nn.distributed import gather_no_grad, gather_with_grad, require_distributed

__all__ = ["angle_difference", "angle_loss", "cosent_loss", "score_ranking"]


def _check(anchor: Tensor, positive: Tensor, scores: Tensor) -> None:
    if anchor.ndim != 2 or positive.shape != anchor.shape:
        raise ValueError(
            f"anchor and positive must both be (N, D); got {tuple(anchor.shape)} and "
            f"{tuple(positive.shape)}"
        )
    if scores.shape != (anchor.shape[0],):
        raise ValueError(f"scores must be ({anchor.shape[0]},), got {tuple(scores.shape)}")


def score_ranking(values: Tensor, scores: Tensor, scale: float | Tensor) -> Tensor:
    """log(1 + sum over pairs (i, j) with scores[i] < scores[j] of exp(scale (v_i - v_j))).

    The ranking objective CoSENT [1] puts on cosine similarities and AnglE [2] on angle
    differences: a pair scored lower must not get the larger value. Pairs of equal score
    are not compared; a batch without two distinct scores gives 0.

    Args:
        values: (N,) a similarity-like value per pair (higher = more similar).
        scores: (N,) gold scores.
        scale: the factor lambda (1 / tau) in front of the differences.

    Returns:
        Scalar float32 loss.
    """
    with torch.autocast(values.device.type, enabled=False):
        v = values.float() * scale
        lower = scores[:, None] < scores[None, :]  # (i, j): pair i scored below pair j
        diffs = (v[:, None] - v[None, :])[lower]
        return torch.logsumexp(torch.cat([v.new_zeros(1), diffs]), dim=0)


def cosent_loss(
    anchor: Tensor,
    positive: Tensor,
    scores: Tensor,
    *,
    scale: float | Tensor = 20.0,
    gather: bool = False,
) -> Tensor:
    """CoSENT [1]: the cosine similarities of the pairs must be ordered as their scores.

    L = log(1 + sum_{s_i < s_j} exp(lambda (cos(a_i, p_i) - cos(a_j, p_j)))), lambda = 20.
    Only the order of the scores matters (any scale: 0-5 STS, 0/1 labels, ...).

    Args:
        anchor: (N, D) embeddings of the first texts.
        positive: (N, D) embeddings of the second texts, row i paired with anchor i.
        scores: (N,) gold similarity of each pair.
        scale: lambda > 0.
        gather: rank the pairs of every process (torch.distributed): each pair's cosine
            is gathered with a gradient and its score without; every process returns the
            loss of the whole global batch, so DDP's averaging gives its gradient.

    Returns:
        Scalar float32 loss.

    Prefer `multiple_negatives_ranking` for pairs that are all positives (no scores);
    `angle_loss` adds AnglE's angle objective to this one.

    Example:
        >>> a, p, s = torch.randn(8, 16), torch.randn(8, 16), torch.rand(8) * 5
        >>> loss = cosent_loss(a, p, s)

    [1] Su, "CoSENT: a more efficient sentence vector scheme than Sentence-BERT", 2022
        (https://kexue.fm/archives/8847).
    """
    _check(anchor, positive, scores)
    with torch.autocast(anchor.device.type, enabled=False):
        cos = F.cosine_similarity(anchor.float(), positive.float(), dim=1)
    return score_ranking(*_gathered(cos, scores, gather), scale)


def _gathered(values: Tensor, scores: Tensor, gather: bool) -> tuple[Tensor, Tensor]:
    """Per-pair values (with a gradient) and scores of every process, or these ones."""
    if not gather:
        return values, scores
    require_distributed()
    return gather_with_grad(values), gather_no_grad(scores.float())


def angle_difference(anchor: Tensor, positive: Tensor) -> Tensor:
    """AnglE's normalised angle value of each pair in complex space [1], as its authors'
    code computes it (higher = smaller angle difference).

    Each embedding's first half is the real part and its second half the imaginary part:
    z = a + bi, w = c + di. The quotient z / w = ((ac + bd) + (bc - ad) i) / |w|^2 is
    divided by |z| / |w|, and the absolute value of the sum of its real and imaginary
    components is returned.

    Args:
        anchor: (N, D) embeddings, D even.
        positive: (N, D) embeddings.

    Returns:
        (N,) float32 values.
    """
    if anchor.shape[1] % 2:
        raise ValueError(
            f"AnglE splits embeddings into two halves: D must be even, got {anchor.shape[1]}"
        )
    a, b = anchor.float().chunk(2, dim=1)
    c, d = positive.float().chunk(2, dim=1)
    norm_z = (a.square() + b.square()).sum(dim=1, keepdim=True).sqrt()
    norm_w = (c.square() + d.square()).sum(dim=1, keepdim=True).sqrt()
    scale = norm_w.square() * norm_z / norm_w  # |w|^2 * (|z| / |w|)
    real, imag = (a * c + b * d) / scale, (b * c - a * d) / scale
    return (real.sum(dim=1) + imag.sum(dim=1)).abs()


def angle_loss(
    anchor: Tensor,
    positive: Tensor,
    scores: Tensor,
    *,
    cosine_weight: float = 1.0,
    angle_weight: float = 1.0,
    cosine_scale: float = 20.0,
    angle_scale: float = 1.0,
    gather: bool = False,
) -> Tensor:
    """AnglE [1]: CoSENT's cosine objective plus the angle objective in complex space.

    L = w_cos L_cos + w_angle L_angle, with L_cos = `cosent_loss` (lambda 20) and L_angle
    the same ranking objective on `angle_difference` values (tau 1.0), the weights and
    temperatures of the authors' published configuration. The paper's third term, the
    in-batch negative loss on pairs labelled positive, is not included: use
    `multiple_negatives_ranking` for unscored positive pairs.

    Args:
        anchor: (N, D) embeddings of the first texts, D even.
        positive: (N, D) embeddings of the second texts.
        scores: (N,) gold similarity of each pair.
        cosine_weight: w_cos >= 0.
        angle_weight: w_angle >= 0.
        cosine_scale: lambda of the cosine term.
        angle_scale: 1 / tau of the angle term.
        gather: rank the pairs of every process, as in `cosent_loss`.

    Returns:
        Scalar float32 loss.

    Example:
        >>> a, p, s = torch.randn(8, 16), torch.randn(8, 16), torch.rand(8)
        >>> loss = angle_loss(a, p, s)

    [1] Li and Li, "AnglE-optimized Text Embeddings", 2023 (arXiv:2309.12871), eq. 7-9.
    """
    _check(anchor, positive, scores)
    if cosine_weight < 0 or angle_weight < 0:
        raise ValueError(
            f"cosine_weight and angle_weight must be >= 0, got {cosine_weight}, {angle_weight}"
        )
    with torch.autocast(anchor.device.type, enabled=False):
        angle = _gathered(angle_difference(anchor, positive), scores, gather)
        loss = angle_weight * score_ranking(*angle, angle_scale)
        if cosine_weight:
            loss = loss + cosine_weight * cosent_loss(
                anchor, positive, scores, scale=cosine_scale, gather=gather
            )
    return loss
