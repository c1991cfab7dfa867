"""The kNN protocol: the default k from the bank, and accuracy at several k in one pass
equal to the single-k vote."""

from __future__ import annotations

import pytest
import torch

from contrastkit.evaluate import knn_accuracy
from contrastkit.evaluate.knn_protocol import default_knn_k, knn_accuracies, reported_ks


def test_default_k_is_20_lowered_to_half_an_average_class() -> None:
    assert default_knn_k(3000, 10) == 20  # not 200: the bank of 3,000
    assert default_knn_k(1_281_167, 1000) == 20
    assert default_knn_k(200, 10) == 10 and default_knn_k(30, 10) == 1
    with pytest.raises(ValueError, match="classes"):
        default_knn_k(100, 0)


def test_reported_ks_are_those_the_bank_allows() -> None:
    assert reported_ks(3000, 20) == [1, 5, 20, 200]
    assert reported_ks(64, 16) == [1, 5, 16, 20]
    assert reported_ks(3, 3) == [1, 3]


def test_accuracy_at_several_k_equals_one_vote_per_k() -> None:
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g)
    labels = torch.randint(0, 4, (300,), generator=g)
    feats = centres[labels] + 1.5 * torch.randn(300, 16, generator=g)
    bank, queries = feats[:200], feats[200:]
    ks = [1, 5, 20, 200, 500]
    found = knn_accuracies(bank, labels[:200], queries, labels[200:], ks=ks, temperature=0.1,
                           batch_size=37)  # fmt: skip
    for k in ks:
        single = knn_accuracy(bank, labels[:200], queries, labels[200:], k=k, temperature=0.1)
        assert found[k] == pytest.approx(single, abs=1e-12), k
    assert len(set(found.values())) > 1  # k matters on this data
