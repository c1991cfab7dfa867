"""Retrieval metrics against scikit-learn's nDCG and hand-computed ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import ndcg_score

from contrastkit.evaluate.retrieval import rank_corpus, retrieval_metrics


def test_hand_built_ranks():
    # 1-d embeddings on the unit circle: query angle vs corpus angles decides the rank.
    angles = torch.tensor([0.0, 0.1, 0.2, 0.3])
    corpus = torch.stack([angles.cos(), angles.sin()], dim=1)
    queries = corpus[[0, 0, 3]]  # nearest first: [0,1,2,3], [0,1,2,3], [3,2,1,0]
    relevant = torch.tensor([0, 2, 1])  # ranks 1, 3, 3
    m = retrieval_metrics(queries, corpus, relevant, ks=(1, 2), cutoff=3)
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert m["recall@2"] == pytest.approx(1 / 3)
    assert m["mrr@3"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert m["ndcg@3"] == pytest.approx((1 + 2 * (1 / math.log2(4))) / 3)
    assert rank_corpus(queries, corpus, 2).tolist() == [[0, 1], [0, 1], [3, 2]]


def test_multiple_relevant_matches_sklearn_ndcg():
    g = torch.Generator().manual_seed(0)
    q, c = torch.randn(30, 8, generator=g), torch.randn(50, 8, generator=g)
    relevant = [set(torch.randperm(50, generator=g)[: 1 + i % 4].tolist()) for i in range(30)]
    m = retrieval_metrics(q, c, relevant, ks=(1, 5, 10), cutoff=10)
    scores = torch.nn.functional.normalize(q, dim=1) @ torch.nn.functional.normalize(c, dim=1).T
    truth = np.zeros((30, 50))
    for i, rel in enumerate(relevant):
        truth[i, list(rel)] = 1
    assert m["ndcg@10"] == pytest.approx(ndcg_score(truth, scores.numpy(), k=10), abs=1e-9)
    top = scores.argsort(dim=1, descending=True)
    recall5 = np.mean(
        [len(set(top[i, :5].tolist()) & rel) / len(rel) for i, rel in enumerate(relevant)]
    )
    assert m["recall@5"] == pytest.approx(recall5)


def test_single_and_set_forms_agree():
    g = torch.Generator().manual_seed(1)
    q, c = torch.randn(20, 6, generator=g), torch.randn(40, 6, generator=g)
    rel = torch.randint(0, 40, (20,), generator=g)
    assert retrieval_metrics(q, c, rel) == retrieval_metrics(q, c, [{int(i)} for i in rel])


def test_errors():
    q, c = torch.randn(3, 4), torch.randn(5, 4)
    with pytest.raises(ValueError, match="must share D"):
        rank_corpus(q, torch.randn(5, 3), 2)
    with pytest.raises(ValueError, match="relevant has 2 entries for 3 queries"):
        retrieval_metrics(q, c, [{0}, {1}])
    with pytest.raises(ValueError, match="at least one relevant"):
        retrieval_metrics(q, c, [{0}, set(), {1}])
