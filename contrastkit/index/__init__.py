"""Embedding indexes and what they are for: search, dedup, anomalies, clustering."""

from __future__ import annotations

from contrastkit.index.anomaly import anomaly_scores
from contrastkit.index.cluster import Clustering, clustering_scores, kmeans
from contrastkit.index.dedup import DuplicateGroups, find_duplicates, group_pairs
from contrastkit.index.engine import KINDS, VectorEngine, exact_search, faiss_or_none, normalize
from contrastkit.index.search_metrics import average_precision_at_k, class_map_at_k
from contrastkit.index.store import EmbeddingIndex, EncoderMismatchError

__all__ = [
    "KINDS",
    "Clustering",
    "DuplicateGroups",
    "EmbeddingIndex",
    "EncoderMismatchError",
    "VectorEngine",
    "anomaly_scores",
    "average_precision_at_k",
    "class_map_at_k",
    "clustering_scores",
    "exact_search",
    "faiss_or_none",
    "find_duplicates",
    "group_pairs",
    "kmeans",
    "normalize",
]
