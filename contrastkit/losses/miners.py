"""In-batch miners: which pairs and triplets of a labelled batch a metric loss looks at.

Every miner works on an (N, N) distance matrix (see `pairwise_distance`) and (N,) integer
labels: rows with the same label are positives of each other, rows with different labels
are negatives. Mining is bookkeeping on detached distances with boolean masks (no Python
loop over samples) and returns index tensors; the loss then reads the distances it needs
from the differentiable matrix. Ties never count as hard: every comparison is strict, and
an arg-max/arg-min over tied candidates picks the lowest index.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

METRICS = ("euclidean", "cosine")
PAIR_MINERS = ("all", "hard")
TRIPLET_MINERS = ("batch_all", "batch_hard", "semi_hard")

# Floor of the squared euclidean distance before the square root (float32 arithmetic):
# sqrt has an infinite slope at 0, the clamp turns it into a zero gradient instead.
_MIN_SQUARED_DISTANCE = 1e-12


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise a ValueError naming `name`, `value` and the allowed values if value is not one."""
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {options}, got {value!r}")


def check_margin(margin: float) -> None:
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")


def pairwise_distance(x: Tensor, metric: str) -> Tensor:
    """All pairwise distances between the rows of `x`, in float32.

    Args:
        x: (N, D) embeddings, any float dtype.
        metric: "euclidean", the L2 distance ||x_i - x_j|| on the raw embeddings, or
            "cosine", 1 - cos(x_i, x_j), in [0, 2] and blind to the embeddings' norms.

    Returns:
        (N, N) float32 symmetric matrix with an exact zero diagonal. The euclidean
        distance is sqrt(max(d^2, 1e-12)) with d^2 from the Gram matrix of the centred
        rows, so rows that coincide get distance 1e-6 and a zero (not NaN) gradient;
        the diagonal is masked to 0 and receives no gradient.

    Raises:
        ValueError: unknown metric or `x` not 2-D.

    Example:
        >>> d = pairwise_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), "euclidean")
        >>> d[0, 1].item()
        5.0
    """
    check_choice("metric", metric, METRICS)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D (N, D) tensor, got shape {tuple(x.shape)}")
    eye = torch.eye(x.shape[0], dtype=torch.bool, device=x.device)
    with torch.autocast(x.device.type, enabled=False):
        x = x.float()
        if metric == "cosine":
            unit = F.normalize(x, dim=1)
            distances = (1 - unit @ unit.T).clamp(min=0)
        else:
            # Distances do not change under translation; centring shrinks the norms and so
            # the cancellation in |a|^2 + |b|^2 - 2 a.b.
            centred = x - x.mean(dim=0)
            squared_norms = centred.pow(2).sum(dim=1)
            squared = squared_norms[:, None] + squared_norms[None, :] - 2 * centred @ centred.T
            distances = squared.clamp(min=_MIN_SQUARED_DISTANCE).sqrt()
        return distances.masked_fill(eye, 0.0)


def _check_inputs(distances: Tensor, labels: Tensor) -> None:
    if distances.ndim != 2 or distances.shape[0] != distances.shape[1]:
        raise ValueError(
            f"distances must be a square (N, N) matrix, got shape {tuple(distances.shape)}"
        )
    if labels.shape != (distances.shape[0],):
        raise ValueError(
            f"labels must have shape ({distances.shape[0]},) to match distances, "
            f"got {tuple(labels.shape)}"
        )
    if labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"labels must be an integer tensor, got dtype {labels.dtype}")


def label_masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """(N,) labels -> (N, N) boolean masks of positives (same label, i != j) and negatives."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def _closest_negative(distances: Tensor, negative: Tensor) -> Tensor:
    """(N,) distance of each row's closest negative, +inf for rows without negatives."""
    return distances.masked_fill(~negative, float("inf")).amin(dim=1)


def _farthest_positive(distances: Tensor, positive: Tensor) -> Tensor:
    """(N,) distance of each row's farthest positive, -inf for rows without positives."""
    return distances.masked_fill(~positive, float("-inf")).amax(dim=1)


def mine_pairs(distances: Tensor, labels: Tensor, kind: str) -> tuple[Tensor, Tensor]:
    """Positive and negative pairs of a labelled batch, each unordered pair once (i < j).

    kind="all": every positive pair (i != j, same label) and every negative pair
    (different labels).

    kind="hard": the selection rule of multi-similarity mining [1] with epsilon = 0 (the
    idea of pytorch-metric-learning's `MultiSimilarityMiner`), in distance form. For
    an anchor i, a positive j is hard when it is farther than i's closest negative,
    d(i, j) > min_{k: y_k != y_i} d(i, k), and a negative j is hard when it is closer than
    i's farthest positive, d(i, j) < max_{k != i: y_k = y_i} d(i, k). An unordered pair
    {i, j} is kept when it is hard seen from either end, i.e. when
    d(i, j) > min(closest negative of i, closest negative of j) for positives and
    d(i, j) < max(farthest positive of i, farthest positive of j) for negatives. A row
    without negatives makes no positive hard, one without positives no negative hard.

    Args:
        distances: (N, N) symmetric distances (only the upper triangle is compared);
            read without gradient.
        labels: (N,) integer labels.
        kind: "all" or "hard".

    Returns:
        (P, 2) positive and (Q, 2) negative index pairs, int64, rows (i, j) with i < j in
        lexicographic order. P or Q may be 0.

    Raises:
        ValueError: unknown kind, non-square distances, or labels of the wrong shape/dtype.

    Example:
        >>> d = pairwise_distance(torch.tensor([[0.0], [1.0], [5.0]]), "euclidean")
        >>> positives, negatives = mine_pairs(d, torch.tensor([0, 0, 1]), "all")
        >>> positives.tolist(), negatives.tolist()
        ([[0, 1]], [[0, 2], [1, 2]])

    [1] Wang et al., "Multi-Similarity Loss with General Pair Weighting for Deep Metric
        Learning", CVPR 2019 (its pair mining step).
    """
    check_choice("kind", kind, PAIR_MINERS)
    _check_inputs(distances, labels)
    positive, negative = label_masks(labels)
    if kind == "hard" and labels.shape[0] > 0:
        d = distances.detach()
        closest_negative = _closest_negative(d, negative)
        farthest_positive = _farthest_positive(d, positive)
        positive = positive & (
            d > torch.minimum(closest_negative[:, None], closest_negative[None, :])
        )
        negative = negative & (
            d < torch.maximum(farthest_positive[:, None], farthest_positive[None, :])
        )
    upper = torch.ones_like(positive).triu(diagonal=1)
    return (positive & upper).nonzero(), (negative & upper).nonzero()


def mine_triplets(distances: Tensor, labels: Tensor, kind: str, margin: float) -> Tensor:
    """(anchor, positive, negative) triplets of a labelled batch.

    kind="batch_all" [2]: every valid triplet, a != p with y_p = y_a and y_n != y_a.

    kind="batch_hard" [2]: for every anchor, its farthest positive and its closest
    negative, one triplet per anchor; anchors without a positive or without a negative
    are skipped.

    kind="semi_hard" [1]: for every anchor-positive pair (a, p), FaceNet's semi-hard
    negatives are those with d(a, p) < d(a, n) < d(a, p) + margin (farther than the
    positive, but inside the margin, so the triplet loss is in (0, margin)). Of these the
    hardest, the closest to the anchor, is taken, giving at most one triplet per (a, p)
    as FaceNet uses "all anchor-positive pairs" with one selected negative each. A pair
    with no semi-hard negative yields no triplet (no fall-back to hard or easy negatives);
    with margin = 0 there is none. [1] uses squared euclidean distances; here the band is
    measured in whatever distance `distances` holds.

    Args:
        distances: (N, N) distances, read without gradient.
        labels: (N,) integer labels.
        kind: "batch_all", "batch_hard" or "semi_hard".
        margin: >= 0, the width of the semi-hard band (unused by the other kinds).

    Returns:
        (T, 3) int64 rows (a, p, n), in lexicographic order of (a, p); T may be 0.

    Raises:
        ValueError: unknown kind, margin < 0, non-square distances, or bad labels.

    Example:
        >>> d = pairwise_distance(torch.tensor([[0.0], [1.0], [5.0], [7.0]]), "euclidean")
        >>> mine_triplets(d, torch.tensor([0, 0, 1, 1]), "batch_hard", 0.2).tolist()
        [[0, 1, 2], [1, 0, 2], [2, 3, 1], [3, 2, 1]]

    [1] Schroff, Kalenichenko and Philbin, "FaceNet: A Unified Embedding for Face
        Recognition and Clustering", CVPR 2015, sec. 3.2.
    [2] Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
        Re-Identification", 2017, sec. 2.
    """
    check_choice("kind", kind, TRIPLET_MINERS)
    check_margin(margin)
    _check_inputs(distances, labels)
    positive, negative = label_masks(labels)
    d = distances.detach()
    if labels.shape[0] == 0:
        return torch.empty(0, 3, dtype=torch.long, device=labels.device)

    if kind == "batch_hard":
        anchors = (positive.any(dim=1) & negative.any(dim=1)).nonzero().squeeze(1)
        hardest_positive = d.masked_fill(~positive, float("-inf")).argmax(dim=1)
        hardest_negative = d.masked_fill(~negative, float("inf")).argmin(dim=1)
        return torch.stack([anchors, hardest_positive[anchors], hardest_negative[anchors]], dim=1)

    anchor, pos = positive.nonzero().unbind(dim=1)  # (P,) each: every ordered positive pair
    candidates = negative[anchor]  # (P, N) negatives of each pair's anchor
    if kind == "batch_all":
        pair, neg = candidates.nonzero().unbind(dim=1)
        return torch.stack([anchor[pair], pos[pair], neg], dim=1)

    d_ap = d[anchor, pos][:, None]  # (P, 1)
    d_an = d[anchor]  # (P, N)
    semi_hard = candidates & (d_an > d_ap) & (d_an < d_ap + margin)
    neg = d_an.masked_fill(~semi_hard, float("inf")).argmin(dim=1)
    keep = semi_hard.any(dim=1)
    return torch.stack([anchor[keep], pos[keep], neg[keep]], dim=1)
