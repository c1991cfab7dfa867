"""Search quality with class labels as relevance: mean average precision at k."""

from __future__ import annotations

import numpy as np


def average_precision_at_k(
    relevant: np.ndarray, n_relevant: np.ndarray | int, k: int = 100
) -> np.ndarray:
    """AP@k of each ranked result list.

    AP@k = sum over ranks r <= k of precision@r * rel(r), divided by min(k, R) where R is the
    number of relevant items in the collection, so a perfect list scores 1.

    Args:
        relevant: (Q, >=k) bool, result r of query q is relevant (e.g. same class).
        n_relevant: (Q,) or scalar R per query.
        k: cut-off.

    Returns:
        (Q,) float64 AP@k.
    """
    rel = np.asarray(relevant[:, :k], dtype=np.float64)
    precision = np.cumsum(rel, axis=1) / np.arange(1, rel.shape[1] + 1)
    denom = np.minimum(k, np.broadcast_to(np.asarray(n_relevant), (len(rel),)))
    return (precision * rel).sum(axis=1) / np.maximum(denom, 1)


def class_map_at_k(
    positions: np.ndarray, query_labels: np.ndarray, bank_labels: np.ndarray, k: int = 100
) -> float:
    """mAP@k of search results `positions` (Q, >=k) where a result is relevant when its
    class equals the query's."""
    relevant = bank_labels[positions[:, :k]] == query_labels[:, None]
    counts = np.bincount(bank_labels, minlength=int(query_labels.max()) + 1)
    return float(average_precision_at_k(relevant, counts[query_labels], k).mean())
