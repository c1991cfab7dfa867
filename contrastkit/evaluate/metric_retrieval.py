"""Class-label retrieval metrics of metric learning: MAP@R, R-precision, precision@1.

Musgrave, Belongie and Lim [1] argue for MAP@R over recall@k: for a query whose class has
R other items in the reference set, rank the references by similarity and look at the top
R. R-precision is the share of those R that share the query's class; MAP@R is the mean
over ranks i <= R of precision@i at the ranks that are relevant,

    MAP@R = 1/R sum_{i=1..R} P(i) rel(i),

so it also rewards putting the relevant items first. Precision@1 is the share of queries
whose nearest reference has their class.

[1] Musgrave, Belongie and Lim, "A Metric Learning Reality Check", ECCV 2020, sec. 3.2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["RETRIEVAL_METRICS", "retrieval_scores"]

RETRIEVAL_METRICS = ("map_at_r", "r_precision", "precision_at_1")


def retrieval_scores(
    queries: Tensor,
    labels: Tensor,
    references: Tensor | None = None,
    reference_labels: Tensor | None = None,
    *,
    chunk: int = 512,
) -> dict[str, float]:
    """MAP@R, R-precision and precision@1 of cosine-similarity retrieval [1].

    Without `references` the queries are searched against each other and each query is
    left out of its own results (the "query set = reference set" protocol of [1]). A query
    whose class has no other reference (R = 0) is left out of every mean, as in [1] and
    pytorch-metric-learning. Ties between equal similarities are broken by `torch.topk`.
    Queries are scored `chunk` at a time with a top-k of the largest R in the chunk: no
    Python loop over queries, memory chunk x (references + max R).

    Args:
        queries: (Q, D) embeddings.
        labels: (Q,) integer classes.
        references: (N, D) embeddings searched; None: the queries themselves.
        reference_labels: (N,) their classes.
        chunk: queries per matrix product.

    Returns:
        {"map_at_r", "r_precision", "precision_at_1"}: means in [0, 1] (NaN when no query
        has a relevant reference).

    Raises:
        ValueError: mismatched shapes, or references without labels.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
        >>> retrieval_scores(x, torch.tensor([0, 0, 1, 1]))["map_at_r"]
        1.0

    [1] Musgrave, Belongie and Lim, "A Metric Learning Reality Check", ECCV 2020.
    """
    same_set = references is None
    if same_set:
        references, reference_labels = queries, labels
    elif reference_labels is None:
        raise ValueError("reference_labels must be given with references")
    assert references is not None and reference_labels is not None
    if queries.ndim != 2 or references.ndim != 2 or queries.shape[1] != references.shape[1]:
        raise ValueError(
            f"queries (Q, D) and references (N, D) must share D, got "
            f"{tuple(queries.shape)} and {tuple(references.shape)}"
        )
    if labels.shape != (len(queries),) or reference_labels.shape != (len(references),):
        raise ValueError("labels and reference_labels must have one entry per row")
    refs = F.normalize(references.float(), dim=1)
    ref_labels = reference_labels.to(refs.device)
    classes, counts = ref_labels.unique(return_counts=True)
    sums = torch.zeros(3, dtype=torch.float64)
    counted = 0
    for start in range(0, len(queries), chunk):
        q = F.normalize(queries[start : start + chunk].float().to(refs.device), dim=1)
        y = labels[start : start + chunk].to(refs.device)
        where = torch.searchsorted(classes, y).clamp(max=len(classes) - 1)
        r = torch.where(classes[where] == y, counts[where], 0) - int(same_set)  # (c,)
        sim = q @ refs.T
        if same_set:  # a query is not its own result
            rows = torch.arange(len(q), device=sim.device)
            sim[rows, rows + start] = float("-inf")
        keep = r > 0
        if not keep.any():
            continue
        k = int(r[keep].max())
        top = sim[keep].topk(k, dim=1).indices  # (c', k) best first
        r = r[keep].to(torch.float64)
        ranks = torch.arange(1, k + 1, device=top.device)
        relevant = (ref_labels[top] == y[keep][:, None]) & (ranks[None, :] <= r[:, None])
        hits = relevant.to(torch.float64)
        precision_at_i = hits.cumsum(dim=1) / ranks
        sums[0] += ((precision_at_i * hits).sum(dim=1) / r).sum().cpu()
        sums[1] += (hits.sum(dim=1) / r).sum().cpu()
        sums[2] += hits[:, 0].sum().cpu()
        counted += int(keep.sum())
    means = (sums / counted).tolist() if counted else [float("nan")] * 3
    return dict(zip(RETRIEVAL_METRICS, means, strict=True))
