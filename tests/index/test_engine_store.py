"""Vector engines (FAISS and torch) and the saved index: exactness, recall, round trip,
encoder fingerprints, id lookups."""

from __future__ import annotations

import json

import numpy as np
import pytest

from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.index import EmbeddingIndex, EncoderMismatchError, VectorEngine, normalize
from contrastkit.index.engine import faiss_or_none

needs_faiss = pytest.mark.skipif(faiss_or_none() is None, reason="faiss-cpu not installed")


def _clustered(n: int = 2000, dim: int = 32, centres: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    return normalize(c[rng.integers(0, centres, n)] + 0.3 * rng.normal(size=(n, dim)))


def _brute(bank: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = queries.astype(np.float64) @ bank.T.astype(np.float64)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, 1), order


@pytest.mark.parametrize("use_faiss", [False, pytest.param(True, marks=needs_faiss)])
def test_flat_search_is_exact(use_faiss: bool) -> None:
    bank = normalize(np.random.default_rng(1).normal(size=(500, 16)))
    queries = normalize(np.random.default_rng(2).normal(size=(40, 16)))
    engine = VectorEngine(bank, "flat", use_faiss=use_faiss)
    assert engine.backend == ("faiss" if use_faiss else "torch")
    scores, positions = engine.search(queries, 7)
    ref_scores, ref_positions = _brute(bank, queries, 7)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)
    assert (positions == ref_positions).mean() > 0.99  # ties in float32 may swap neighbours


@needs_faiss
@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_kinds_have_high_recall_and_report_it(kind: str) -> None:
    vectors = _clustered()
    index = EmbeddingIndex(vectors, [f"i{n}" for n in range(len(vectors))], "fp", kind=kind)
    recall = index.info["recall@10"]
    assert 0.9 <= recall <= 1.0
    exact = VectorEngine(index.vectors, "flat").search(index.vectors[:100], 10)[1]
    approx = index.search(vectors[:100], 10)[1]
    manual = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert manual > 0.9


def test_approximate_kind_without_faiss_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="needs FAISS"):
        VectorEngine(_clustered(100), "hnsw", use_faiss=False)
    with pytest.raises(ConfigError, match="kind must be one of"):
        VectorEngine(_clustered(100), "lsh")
    with pytest.raises(ConfigError, match="zero vectors"):
        VectorEngine(np.zeros((0, 4), np.float32), "flat")


def test_query_of_wrong_width_is_rejected() -> None:
    engine = VectorEngine(_clustered(50), "flat")
    with pytest.raises(ConfigError, match=r"shape \(Q, 32\)"):
        engine.search(np.zeros((2, 8), np.float32), 3)


def test_index_round_trip_keeps_vectors_ids_labels_and_results(tmp_path) -> None:
    vectors = _clustered(300)
    labels = np.arange(300) % 7
    ids = [f"img/{n}.png" for n in range(300)]
    index = EmbeddingIndex(vectors, ids, "abc123", source="runs/x", labels=labels)
    index.save(tmp_path / "idx")
    meta = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert meta["fingerprint"] == "abc123" and meta["count"] == 300 and meta["dim"] == 32
    loaded = EmbeddingIndex.load(tmp_path / "idx")
    assert loaded.ids == ids and loaded.fingerprint == "abc123" and loaded.source == "runs/x"
    np.testing.assert_array_equal(loaded.labels, labels)
    np.testing.assert_allclose(loaded.vectors, index.vectors, atol=1e-6)
    q = vectors[:5]
    np.testing.assert_array_equal(loaded.search(q, 4)[1], index.search(q, 4)[1])


def test_vectors_are_normalised_and_scores_are_cosines() -> None:
    raw = np.array([[3.0, 4.0], [0.0, 2.0], [-1.0, 0.0]], np.float32)
    index = EmbeddingIndex(raw, ["a", "b", "c"], "fp")
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, rtol=1e-6)
    scores, positions = index.search(np.array([[6.0, 8.0]], np.float32), 3)
    np.testing.assert_allclose(scores[0], [1.0, 0.8, -0.6], atol=1e-6)
    assert positions[0].tolist() == [0, 1, 2]


def test_other_encoder_is_refused() -> None:
    index = EmbeddingIndex(_clustered(20), [str(n) for n in range(20)], "aaaa", source="run-a")
    index.check_encoder("aaaa")
    with pytest.raises(EncoderMismatchError, match="not the encoder this index was built with"):
        index.check_encoder("bbbb", source="run-b")


def test_unknown_id_duplicate_ids_and_mismatched_lengths_are_clear_errors(tmp_path) -> None:
    index = EmbeddingIndex(_clustered(10), [f"x{n}" for n in range(10)], "fp")
    assert index.position("x3") == 3
    with pytest.raises(ContrastkitError, match=r"unknown id 'nope'.*10 items"):
        index.position("nope")
    with pytest.raises(ContrastkitError, match="unique"):
        EmbeddingIndex(_clustered(3), ["a", "a", "b"], "fp")
    with pytest.raises(ContrastkitError, match="3 vectors but 2 ids"):
        EmbeddingIndex(_clustered(3), ["a", "b"], "fp")
    with pytest.raises(ContrastkitError, match="not a contrastkit index"):
        EmbeddingIndex.load(tmp_path)


def test_neighbours_leave_the_item_itself_out() -> None:
    vectors = _clustered(200)
    index = EmbeddingIndex(vectors, [str(n) for n in range(200)], "fp")
    scores, positions = index.neighbours(5)
    assert positions.shape == (200, 5)
    assert not (positions == np.arange(200)[:, None]).any()
    sims = index.vectors @ index.vectors.T
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_allclose(scores, -np.sort(-sims, axis=1)[:, :5], atol=1e-5)
