"""k-means on embeddings: assignments, cluster sizes and representative items."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contrastkit.errors import ConfigError


@dataclass
class Clustering:
    """k-means result.

    Attributes:
        assignment: (N,) cluster of each item.
        centroids: (k, D) cluster centres (in the unit-vector space).
        sizes: (k,) items per cluster.
        representatives: k arrays, each the positions of the items closest to the centre
            (most typical first).
    """

    assignment: np.ndarray
    centroids: np.ndarray
    sizes: np.ndarray
    representatives: list[np.ndarray]


def kmeans(vectors: np.ndarray, k: int, *, seed: int = 0, per_cluster: int = 5) -> Clustering:
    """Cluster (N, D) unit vectors into k groups with scikit-learn's k-means (k-means++ init,
    best of 3 restarts); representatives are the `per_cluster` items nearest each centre."""
    from sklearn.cluster import KMeans

    n = len(vectors)
    if not 1 <= k <= n:
        raise ConfigError(f"k must be between 1 and the number of items ({n}), got {k}")
    model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(vectors)
    assignment = model.labels_.astype(np.int64)
    distance = model.transform(vectors)[np.arange(n), assignment]
    reps = []
    for c in range(k):
        members = np.flatnonzero(assignment == c)
        reps.append(members[np.argsort(distance[members])[:per_cluster]])
    return Clustering(
        assignment,
        model.cluster_centers_.astype(np.float32),
        np.bincount(assignment, minlength=k),
        reps,
    )


def clustering_scores(labels: np.ndarray, assignment: np.ndarray) -> dict[str, float]:
    """NMI and ARI of cluster assignments against true labels (scikit-learn)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "nmi": float(normalized_mutual_info_score(labels, assignment)),
        "ari": float(adjusted_rand_score(labels, assignment)),
    }
