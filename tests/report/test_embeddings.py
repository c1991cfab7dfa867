"""The report's embedding maths: cosine neighbours, query choice and the 2-D projection."""

from __future__ import annotations

import numpy as np
import pytest

from contrastkit.errors import ContrastkitError
from contrastkit.report.embeddings import cosine_top_k, pick_queries, project_2d, unit_rows


def _slow_top_k(queries: np.ndarray, bank: np.ndarray, k: int) -> np.ndarray:
    """Neighbours by looping over every (query, bank) pair."""
    out = []
    for q in queries:
        sims = []
        for j, b in enumerate(bank):
            sims.append((float(q @ b / (np.linalg.norm(q) * np.linalg.norm(b))), j))
        out.append([j for _, j in sorted(sims, key=lambda t: -t[0])[:k]])
    return np.asarray(out)


def test_cosine_top_k_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    queries, bank = rng.normal(size=(5, 8)), rng.normal(size=(40, 8))
    index, sims = cosine_top_k(queries, bank, 4)
    np.testing.assert_array_equal(index, _slow_top_k(queries, bank, 4))
    assert np.all(np.diff(sims, axis=1) <= 1e-6) and np.all(np.abs(sims) <= 1 + 1e-5)


def test_cosine_top_k_is_scale_invariant_and_skips_the_query_itself() -> None:
    rng = np.random.default_rng(1)
    bank = rng.normal(size=(10, 4)).astype(np.float32)
    ids = [f"item{i}" for i in range(10)]
    index, _ = cosine_top_k(bank[:3] * 7.0, bank, 9, query_ids=ids[:3], bank_ids=ids)
    assert index.shape == (3, 9)
    for i in range(3):
        assert i not in index[i]
    plain, _ = cosine_top_k(bank[:3], bank, 1)
    np.testing.assert_array_equal(plain[:, 0], [0, 1, 2])  # without ids, itself is nearest


def test_pick_queries_visits_each_class_first() -> None:
    labels = np.array([0] * 50 + [1] * 3 + [2] * 2)
    chosen = pick_queries(labels, len(labels), 3, seed=0)
    assert sorted(int(labels[c]) for c in chosen) == [0, 1, 2]
    more = pick_queries(labels, len(labels), 6, seed=0)
    assert len(set(more)) == 6 and {int(labels[c]) for c in more} == {0, 1, 2}
    assert len(pick_queries(None, 4, 10)) == 4


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_project_2d_separates_two_clusters(method: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 16)) * 0.05 + np.eye(16)[0]
    b = rng.normal(size=(30, 16)) * 0.05 + np.eye(16)[1]
    xy, name = project_2d(np.vstack([a, b]), method)
    assert xy.shape == (60, 2) and name in ("PCA", "t-SNE")
    centre_a, centre_b = xy[:30].mean(0), xy[30:].mean(0)
    spread = max(xy[:30].std(0).max(), xy[30:].std(0).max())
    assert np.linalg.norm(centre_a - centre_b) > 3 * spread


def test_project_2d_small_inputs_and_errors() -> None:
    assert project_2d(np.ones((2, 5)))[0].shape == (2, 2)
    assert project_2d(np.random.rand(6, 5), "tsne")[1] == "PCA"  # too few points for t-SNE
    with pytest.raises(ContrastkitError, match="--projection"):
        project_2d(np.ones((20, 5)), "isomap")


def test_unit_rows_keeps_zero_rows() -> None:
    x = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(x, [[0.6, 0.8], [0.0, 0.0]])
