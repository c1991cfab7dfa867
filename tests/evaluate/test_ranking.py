"""Top-k recommendation metrics and baselines against plain loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from contrastkit.data.interactions import from_columns
from contrastkit.evaluate.ranking import item_knn_scores, ranking_metrics, seen_mask, top_k
from tests.data.test_interactions import toy_interactions as _toy


def test_ranking_metrics_match_a_loop() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items = 20, 30
    test = from_columns(
        [str(u) for u in rng.integers(0, n_users, 80)],
        [str(i) for i in rng.integers(0, n_items, 80)],
    )
    users = np.unique(test.user)
    recommended = torch.as_tensor(
        np.stack([rng.permutation(test.n_items)[:10] for _ in users]), dtype=torch.long
    )
    got = ranking_metrics(recommended, users, test, k=10)
    recalls, ndcgs = [], []
    for row, u in enumerate(users):
        truth = set(test.item[test.user == u].tolist())
        rec = recommended[row].tolist()
        hits = [1.0 if i in truth else 0.0 for i in rec]
        recalls.append(sum(hits) / len(truth))
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(10, len(truth))))
        ndcgs.append(dcg / idcg)
    assert got["recall@10"] == pytest.approx(np.mean(recalls))
    assert got["ndcg@10"] == pytest.approx(np.mean(ndcgs))


def test_top_k_never_recommends_a_seen_item() -> None:
    data = _toy()
    users = np.arange(data.n_users)
    seen = seen_mask(data, users)
    best = top_k(torch.randn(data.n_users, data.n_items), seen, 1)
    assert not seen.gather(1, best).any()


def test_item_knn_matches_a_loop() -> None:
    data = _toy()
    x = np.zeros((data.n_users, data.n_items))
    x[data.user, data.item] = 1
    norms = np.sqrt(x.sum(0))
    sim = (x.T @ x) / np.outer(norms, norms)
    np.fill_diagonal(sim, 0)
    users = np.arange(data.n_users)
    expected = np.array([[sum(x[u, j] * sim[j, i] for j in range(data.n_items))
                          for i in range(data.n_items)] for u in users])  # fmt: skip
    np.testing.assert_allclose(
        item_knn_scores(data, users, neighbours=100).numpy(), expected, atol=1e-6
    )
