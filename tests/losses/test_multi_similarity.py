"""Multi-similarity loss and miner against slow references looping over anchors and pairs
(value, gradient, selected pairs), with and without a cross-batch memory."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.losses.multi_similarity import (
    MultiSimilarityLoss,
    multi_similarity_loss,
    multi_similarity_miner,
)


def _cos(a, b):
    return a @ b / (a.norm() * b.norm())


def reference_mined(x, refs, labels, ref_labels, epsilon):
    """Per anchor i: the lists of kept positive and negative reference indices, by [1]'s
    rule, looping over references (reference j == i is the anchor itself for j < N)."""
    n = x.shape[0]
    kept = []
    for i in range(n):
        pos = [j for j in range(len(refs)) if j != i and ref_labels[j] == labels[i]]
        neg = [j for j in range(len(refs)) if ref_labels[j] != labels[i]]
        s = {j: float(_cos(x[i], refs[j]).detach()) for j in pos + neg}
        if epsilon is None:
            kept.append((pos, neg))
            continue
        min_pos = min((s[j] for j in pos), default=math.inf)
        max_neg = max((s[j] for j in neg), default=-math.inf)
        kept.append(
            (
                [j for j in pos if s[j] - epsilon < max_neg],
                [j for j in neg if s[j] + epsilon > min_pos],
            )
        )
    return kept


def reference_loss(x, labels, alpha, beta, base, epsilon, memory=None, memory_labels=None):
    refs, ref_labels = x, labels.tolist()
    if memory is not None:
        refs = torch.cat([x, memory])
        ref_labels = ref_labels + memory_labels.tolist()
    kept = reference_mined(x, refs, labels.tolist(), ref_labels, epsilon)
    total = x.new_zeros(())
    for i, (pos, neg) in enumerate(kept):
        sp = sum((torch.exp(-alpha * (_cos(x[i], refs[j]) - base)) for j in pos), x.new_zeros(()))
        sn = sum((torch.exp(beta * (_cos(x[i], refs[j]) - base)) for j in neg), x.new_zeros(()))
        total = total + torch.log(1 + sp) / alpha + torch.log(1 + sn) / beta
    return total / x.shape[0]


@pytest.mark.parametrize("epsilon", [0.1, 0.0, None])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_and_gradient_match_the_reference(seed, epsilon):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(12, 6, generator=g, requires_grad=True)
    labels = torch.randint(0, 4, (12,), generator=g)
    got = multi_similarity_loss(x, labels, 2.0, 50.0, 0.5, epsilon)
    (grad_got,) = torch.autograd.grad(got, x)
    x64 = x.detach().double().requires_grad_()
    want = reference_loss(x64, labels, 2.0, 50.0, 0.5, epsilon)
    (grad_want,) = torch.autograd.grad(want, x64)
    assert got.item() == pytest.approx(want.item(), rel=1e-5, abs=1e-6)
    torch.testing.assert_close(grad_got, grad_want.float(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_with_a_memory_matches_the_reference_and_memory_gets_no_gradient(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 5, generator=g, requires_grad=True)
    labels = torch.randint(0, 3, (8,), generator=g)
    memory = torch.randn(10, 5, generator=g, requires_grad=True)
    memory_labels = torch.randint(0, 3, (10,), generator=g)
    got = multi_similarity_loss(
        x, labels, 2.0, 10.0, 0.5, 0.1, memory=memory, memory_labels=memory_labels
    )
    grad_got, grad_memory = torch.autograd.grad(got, [x, memory], allow_unused=True)
    assert grad_memory is None
    x64 = x.detach().double().requires_grad_()
    want = reference_loss(x64, labels, 2.0, 10.0, 0.5, 0.1, memory.detach().double(), memory_labels)
    (grad_want,) = torch.autograd.grad(want, x64)
    assert got.item() == pytest.approx(want.item(), rel=1e-5, abs=1e-6)
    torch.testing.assert_close(grad_got, grad_want.float(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_miner_selects_the_pairs_of_an_explicit_loop(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 4, generator=g)
    labels = torch.randint(0, 4, (16,), generator=g)
    positives, negatives = multi_similarity_miner(x, labels, epsilon=0.1)
    kept = reference_mined(x.double(), x.double(), labels.tolist(), labels.tolist(), 0.1)
    want_pos = [[i, j] for i, (pos, _) in enumerate(kept) for j in pos]
    want_neg = [[i, j] for i, (_, neg) in enumerate(kept) for j in neg]
    assert positives.tolist() == want_pos
    assert negatives.tolist() == want_neg
    assert 0 < len(want_neg) < 16 * 12  # the rule drops easy negatives, keeps hard ones


def test_empty_sets_give_zero_and_finite_gradient():
    x = torch.randn(4, 3, requires_grad=True)
    loss = multi_similarity_loss(x, torch.arange(4))  # no positives: no negative is kept
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(x.grad).all()


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="alpha"):
        MultiSimilarityLoss(alpha=0)
    with pytest.raises(ValueError, match="epsilon"):
        MultiSimilarityLoss(epsilon=-1)
    with pytest.raises(ValueError, match="labels"):
        multi_similarity_loss(torch.randn(4, 3), torch.arange(3))
