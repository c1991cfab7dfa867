"""Dedup, anomaly scores, k-means and mAP@k against hand-built cases and slow references;
dedup on real digits with planted near-copies."""

from __future__ import annotations

import numpy as np
import pytest

from contrastkit.data.digits import load_digits
from contrastkit.errors import ConfigError
from contrastkit.index import (
    EmbeddingIndex,
    anomaly_scores,
    average_precision_at_k,
    class_map_at_k,
    clustering_scores,
    find_duplicates,
    group_pairs,
    kmeans,
    normalize,
)
from contrastkit.index.dedup import pair_precision_recall


def _index(vectors: np.ndarray, **kw) -> EmbeddingIndex:
    return EmbeddingIndex(vectors, [f"i{n}" for n in range(len(vectors))], "fp", **kw)


def _unit(*rows: list[float]) -> np.ndarray:
    return normalize(np.array(rows, dtype=np.float32))


def test_dedup_groups_keep_the_first_item_and_report_similarity_to_it() -> None:
    angle = np.deg2rad([0, 5, 9, 90, 180, 184])  # 0-5-9 degrees chain; 180-184 pair; 90 alone
    vectors = np.stack([np.cos(angle), np.sin(angle)], 1)
    threshold = float(np.cos(np.deg2rad(6)))  # 5 and 4 degrees apart count, 9 does not
    found = find_duplicates(_index(vectors), threshold=threshold, k=3, ratio=None)
    assert found.group.tolist() == [0, 0, 0, -1, 1, 1]
    assert found.keep.tolist() == [True, False, False, True, True, False]
    assert found.removed.tolist() == [1, 2, 5]
    np.testing.assert_allclose(
        found.similarity_to_kept[[0, 1, 2, 4, 5]], np.cos(np.deg2rad([0, 5, 9, 0, 4])), atol=1e-6
    )
    assert np.isnan(found.similarity_to_kept[3])
    assert sorted(map(tuple, found.pairs.tolist())) == [(0, 1), (1, 2), (4, 5)]
    assert sorted(map(tuple, group_pairs(found.group).tolist())) == [(0, 1), (0, 2), (1, 2), (4, 5)]


def test_dedup_threshold_one_finds_only_exact_copies_and_bad_threshold_is_rejected() -> None:
    vectors = _unit([1, 0], [1, 0], [0.99, 0.1], [0, 1])
    found = find_duplicates(_index(vectors), threshold=1.0)
    assert found.group.tolist() == [0, 0, -1, -1]
    with pytest.raises(ConfigError, match="threshold"):
        find_duplicates(_index(vectors), threshold=1.5)


def test_relative_test_finds_a_close_copy_inside_a_dense_cluster() -> None:
    rng = np.random.default_rng(4)
    centre = rng.normal(size=64)
    cluster = normalize(centre + 0.1 * rng.normal(size=(30, 64)))  # all pairs above 0.9
    copy = normalize(cluster[:1] + 0.005 * rng.normal(size=(1, 64)))
    index = _index(np.concatenate([cluster, copy]))
    absolute = find_duplicates(index, threshold=0.9, ratio=None)
    assert absolute.n_groups == 1 and len(absolute.removed) == 30  # the whole cluster
    relative = find_duplicates(index, threshold=0.9, ratio=0.5)
    assert relative.group[[0, 30]].tolist() == [0, 0] and relative.removed.tolist() == [30]
    with pytest.raises(ConfigError, match="ratio"):
        find_duplicates(index, ratio=0.0)


def test_pair_precision_recall_counts_unordered_pairs() -> None:
    found = np.array([[1, 0], [2, 3], [4, 5]])
    truth = np.array([[0, 1], [3, 2], [6, 7], [8, 9]])
    scores = pair_precision_recall(found, truth, n=10)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(0.5)


def test_dedup_finds_planted_near_copies_of_real_digits() -> None:
    digits = load_digits("all")
    x = digits.images.reshape(len(digits), -1).float().numpy() / 16.0
    rng = np.random.default_rng(0)
    originals = rng.choice(len(x), size=100, replace=False)
    copies = np.clip(x[originals] + rng.normal(0, 0.02, size=(100, x.shape[1])), 0, None)
    vectors = np.concatenate([x, copies]).astype(np.float32)
    truth = np.stack([originals, len(x) + np.arange(100)], 1)
    # the digits themselves hold exact duplicate images: they are true duplicates too
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    same = np.flatnonzero(first[inverse.ravel()] != np.arange(len(x)))
    truth = np.concatenate([truth, np.stack([first[inverse.ravel()][same], same], 1)])
    found = find_duplicates(_index(vectors), threshold=0.995)
    scores = pair_precision_recall(group_pairs(found.group), truth, n=len(vectors))
    assert scores["recall"] >= 0.98
    assert scores["precision"] >= 0.8


def _slow_anomaly(bank: np.ndarray, queries: np.ndarray, k: int, leave_out: bool) -> np.ndarray:
    out = []
    for q, row in enumerate(queries):
        d = [1 - float(row @ b) for j, b in enumerate(bank) if not (leave_out and j == q)]
        out.append(np.mean(sorted(d)[:k]))
    return np.array(out)


def test_anomaly_scores_match_a_loop_and_rank_the_outlier_first() -> None:
    rng = np.random.default_rng(3)
    normal = normalize(np.array([1.0, 0, 0, 0]) + 0.05 * rng.normal(size=(60, 4)))
    odd = _unit([0, 0, 1, 0])
    index = _index(np.concatenate([normal, odd]))
    own = anomaly_scores(index, k=5)
    np.testing.assert_allclose(own, _slow_anomaly(index.vectors, index.vectors, 5, True), atol=1e-5)
    assert own.argmax() == 60
    queries = normalize(rng.normal(size=(7, 4)))
    np.testing.assert_allclose(
        anomaly_scores(index, queries, k=3),
        _slow_anomaly(index.vectors, queries, 3, False),
        atol=1e-5,
    )
    with pytest.raises(ConfigError):
        anomaly_scores(index, k=0)
    with pytest.raises(ConfigError, match="no items"):
        anomaly_scores(index, np.zeros((0, 4), np.float32))


def test_kmeans_recovers_separated_blobs_and_picks_members_as_representatives() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:4] * 5
    labels = np.repeat(np.arange(4), 50)
    vectors = normalize(centres[labels] + 0.3 * rng.normal(size=(200, 8)))
    result = kmeans(vectors, 4)
    assert clustering_scores(labels, result.assignment) == {
        "nmi": pytest.approx(1.0),
        "ari": pytest.approx(1.0),
    }
    assert sorted(result.sizes.tolist()) == [50, 50, 50, 50]
    for c, reps in enumerate(result.representatives):
        assert len(reps) == 5 and (result.assignment[reps] == c).all()
    with pytest.raises(ConfigError, match="k must be between 1"):
        kmeans(vectors, 500)


def _slow_ap(relevant: list[bool], n_relevant: int, k: int) -> float:
    hits, total = 0, 0.0
    for rank, rel in enumerate(relevant[:k], start=1):
        if rel:
            hits += 1
            total += hits / rank
    return total / min(k, n_relevant)


def test_average_precision_matches_a_loop() -> None:
    rng = np.random.default_rng(1)
    relevant = rng.random((30, 12)) < 0.4
    n_rel = rng.integers(1, 20, 30)
    fast = average_precision_at_k(relevant, n_rel, k=10)
    slow = [_slow_ap(r.tolist(), int(n), 10) for r, n in zip(relevant, n_rel, strict=True)]
    np.testing.assert_allclose(fast, slow)
    assert average_precision_at_k(np.ones((1, 5), bool), 5, 5)[0] == pytest.approx(1.0)


def test_class_map_is_one_for_a_perfect_ranking() -> None:
    bank_labels = np.array([0, 0, 0, 1, 1, 1])
    positions = np.array([[0, 1, 2, 3], [3, 4, 5, 0]])
    assert class_map_at_k(positions, np.array([0, 1]), bank_labels, k=3) == pytest.approx(1.0)
    worse = np.array([[3, 0, 1, 2], [3, 4, 5, 0]])
    assert class_map_at_k(worse, np.array([0, 1]), bank_labels, k=3) < 1.0
