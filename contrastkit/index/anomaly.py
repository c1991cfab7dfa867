"""Anomaly scores: the mean cosine distance to the k nearest normal items.

An item far from everything it is compared with is unusual. Two uses:
`anomaly_scores(index)` scores the index's own items against the other items (leave one
out); `anomaly_scores(index, queries)` scores new items against the index as the normal set.
"""

from __future__ import annotations

import numpy as np

from contrastkit.errors import ConfigError
from contrastkit.index.store import EmbeddingIndex


def anomaly_scores(
    index: EmbeddingIndex, queries: np.ndarray | None = None, k: int = 10
) -> np.ndarray:
    """Mean (1 - cosine) to the k nearest items of `index`; higher is more anomalous.

    Args:
        index: the reference (normal) items.
        queries: (Q, D) embeddings to score, or None to score the index's own items
            against the others.
        k: neighbours averaged, >= 1.

    Returns:
        (Q,) or (N,) float32 scores in [0, 2].
    """
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if queries is None:
        scores, _ = index.neighbours(k)
    else:
        if len(queries) == 0:
            raise ConfigError("no items to score")
        scores, _ = index.search(queries, k)
    scores = np.where(np.isfinite(scores), scores, -1.0)
    return (1.0 - scores).mean(axis=1).astype(np.float32)
