"""MAP@R, R-precision and precision@1 against a slow per-query reference (Musgrave et al.
2020), with the query left out of its own results, lone queries skipped, and chunking."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.evaluate.metric_retrieval import retrieval_scores


def reference(queries, labels, refs=None, ref_labels=None):
    same = refs is None
    refs, ref_labels = (queries, labels) if same else (refs, ref_labels)
    maps, rps, p1s = [], [], []
    for i in range(len(queries)):
        cands = [j for j in range(len(refs)) if not (same and j == i)]
        sims = {j: float(torch.cosine_similarity(queries[i], refs[j], dim=0)) for j in cands}
        ranked = sorted(cands, key=lambda j: -sims[j])
        r = sum(int(ref_labels[j] == labels[i]) for j in cands)
        if r == 0:
            continue
        hits, ap = 0, 0.0
        for rank, j in enumerate(ranked[:r], start=1):
            if ref_labels[j] == labels[i]:
                hits += 1
                ap += hits / rank
        maps.append(ap / r)
        rps.append(hits / r)
        p1s.append(float(ref_labels[ranked[0]] == labels[i]))
    return {
        "map_at_r": sum(maps) / len(maps),
        "r_precision": sum(rps) / len(rps),
        "precision_at_1": sum(p1s) / len(p1s),
    }


@pytest.mark.parametrize("chunk", [512, 7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_set_matches_the_reference(seed, chunk):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 5, (60,), generator=g)
    x = torch.randn(60, 4, generator=g) + 1.5 * torch.randn(5, 4, generator=g)[labels]
    got = retrieval_scores(x, labels, chunk=chunk)
    want = reference(x, labels.tolist())
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_separate_references_and_lone_queries():
    g = torch.Generator().manual_seed(5)
    q, r = torch.randn(20, 3, generator=g), torch.randn(30, 3, generator=g)
    ql = torch.randint(0, 4, (20,), generator=g)
    ql[0] = 9  # no reference of class 9: left out
    rl = torch.randint(0, 4, (30,), generator=g)
    got = retrieval_scores(q, ql, r, rl, chunk=6)
    want = reference(q, ql.tolist(), r, rl.tolist())
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_perfect_and_hopeless_rankings():
    x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert retrieval_scores(x, torch.tensor([0, 0, 1, 1])) == {
        "map_at_r": 1.0, "r_precision": 1.0, "precision_at_1": 1.0,
    }  # fmt: skip
    worst = retrieval_scores(x, torch.tensor([0, 1, 0, 1]))
    assert worst["precision_at_1"] == 0.0 and worst["map_at_r"] == 0.0
    lone = retrieval_scores(x, torch.arange(4))
    assert all(math.isnan(v) for v in lone.values())
