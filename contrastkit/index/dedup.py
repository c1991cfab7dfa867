"""Near-duplicate groups: items far closer to each other than to the rest of the data.

Every item's k nearest neighbours are searched in the index. A pair (i, j) is an edge when
both hold:

- absolute: cosine(i, j) >= `threshold`;
- relative: the distance 1 - cos(i, j) is at most `ratio` times i's distance to its k-th
  neighbour (a local scale, like Lowe's ratio test). Embedding spaces are dense: in a
  trained space most items have neighbours above 0.95, so a fixed threshold alone links
  whole classes; a near-copy is much closer than the item's ordinary neighbours.

Groups are the connected components of the edges (scipy). In each group the first item
(in index order) is kept and the others are marked for removal; each removed item's
similarity to the kept one is reported so chains (a ~ b ~ c but a !~ c) show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contrastkit.errors import ConfigError
from contrastkit.index.store import EmbeddingIndex

DEFAULT_THRESHOLD = 0.9
DEFAULT_RATIO = 0.3  # best validation F1 (benchmarks/dedup_calibration.py, training split)


@dataclass
class DuplicateGroups:
    """The result of `find_duplicates`.

    Attributes:
        group: (N,) group number per item, -1 for items without a duplicate.
        keep: (N,) True for items to keep (every ungrouped item, and one per group).
        similarity_to_kept: (N,) cosine to the group's kept item (1.0 for the kept one,
            nan for ungrouped items).
        pairs: (P, 2) positions i < j of every edge at or above the threshold.
        threshold: the cosine threshold used.
    """

    group: np.ndarray
    keep: np.ndarray
    similarity_to_kept: np.ndarray
    pairs: np.ndarray
    threshold: float

    @property
    def n_groups(self) -> int:
        return int(self.group.max() + 1) if len(self.group) else 0

    @property
    def removed(self) -> np.ndarray:
        """Positions of the items to remove."""
        return np.flatnonzero(~self.keep)


def find_duplicates(
    index: EmbeddingIndex,
    threshold: float = DEFAULT_THRESHOLD,
    k: int = 10,
    ratio: float | None = DEFAULT_RATIO,
) -> DuplicateGroups:
    """Group the near-duplicate items of `index` (see the module docstring).

    Args:
        index: the items to deduplicate.
        threshold: cosine similarity in (-1, 1] below which two items are never duplicates.
        k: neighbours searched per item; the k-th sets the local scale. An item with more
            than k duplicates is still grouped with all of them through their own lists.
        ratio: relative test, in (0, 1]; None keeps the absolute threshold only.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not -1.0 < threshold <= 1.0:
        raise ConfigError(f"threshold must be in (-1, 1], got {threshold}")
    if ratio is not None and not 0.0 < ratio <= 1.0:
        raise ConfigError(f"ratio must be in (0, 1], got {ratio}")
    n = len(index)
    if n < 2:
        empty = np.zeros((0, 2), dtype=np.int64)
        return DuplicateGroups(
            np.full(n, -1), np.ones(n, bool), np.full(n, np.nan), empty, threshold
        )
    scores, positions = index.neighbours(k)
    rows = np.repeat(np.arange(n), scores.shape[1])
    hit = (scores >= threshold - 1e-6) & (positions >= 0)
    if ratio is not None:
        distance = 1.0 - scores
        hit &= distance <= ratio * distance[:, -1:] + 1e-6
    hit = hit.ravel()
    a, b = rows[hit], positions.ravel()[hit]
    pairs = np.unique(np.sort(np.stack([a, b], axis=1), axis=1), axis=0)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    grouped = sizes[component] > 1
    # renumber grouped components 0..G-1 in order of their first item
    first = np.full(component.max() + 1, n)
    np.minimum.at(first, component, np.arange(n))
    multi = np.flatnonzero(sizes > 1)
    new_number = np.full(len(sizes), -1)
    new_number[multi[np.argsort(first[multi])]] = np.arange(len(multi))
    group = np.where(grouped, new_number[component], -1)
    kept_item = first[component]
    keep = ~grouped | (kept_item == np.arange(n))
    similarity = np.full(n, np.nan)
    similarity[grouped] = np.einsum(
        "nd,nd->n", index.vectors[grouped], index.vectors[kept_item[grouped]]
    )
    return DuplicateGroups(group, keep, similarity, pairs, threshold)


def pair_precision_recall(found: np.ndarray, truth: np.ndarray, n: int) -> dict[str, float]:
    """Precision and recall of found pairs against true pairs, both (P, 2) positions
    of unordered pairs (use `group_pairs` to turn groups into pairs)."""

    def keys(p: np.ndarray) -> set[int]:
        p = np.sort(np.asarray(p, dtype=np.int64).reshape(-1, 2), axis=1)
        return set((p[:, 0] * n + p[:, 1]).tolist())

    f, t = keys(found), keys(truth)
    hit = len(f & t)
    return {
        "precision": hit / len(f) if f else 1.0,
        "recall": hit / len(t) if t else 1.0,
        "found_pairs": float(len(f)),
        "true_pairs": float(len(t)),
    }


def group_pairs(group: np.ndarray) -> np.ndarray:
    """Every unordered pair of positions that share a group: (P, 2)."""
    out = []
    members = np.flatnonzero(group >= 0)
    order = members[np.argsort(group[members], kind="stable")]
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for block in np.split(order, bounds):
        if len(block) > 1:
            i, j = np.triu_indices(len(block), k=1)
            out.append(np.stack([block[i], block[j]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)
