"""The Matryoshka wrapper against the plain sum over truncations (value and gradient)."""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses import MatryoshkaLoss, NTXentLoss, cosent_loss, info_nce, matryoshka_loss


def _reference(loss_fn, embeddings, dims, weights, **kwargs):
    total = 0.0
    for m, w in zip(dims, weights, strict=True):
        cut = [torch.stack([row[:m] for row in z]) for z in embeddings]  # row by row
        total = total + w * loss_fn(*cut, **kwargs)
    return total


@pytest.mark.parametrize(
    ("dims", "weights"),
    [([4, 8, 16], None), ([16, 2], [0.5, 2.0]), ([16], None), ([3, 5], [1.0, 0.0])],
)
def test_value_and_gradient_match_the_sum_over_truncations(dims, weights):
    g = torch.Generator().manual_seed(len(dims))
    q, k = torch.randn(6, 16, generator=g), torch.randn(6, 16, generator=g)
    fast_in = [q.clone().requires_grad_(), k.clone().requires_grad_()]
    ref_in = [q.clone().requires_grad_(), k.clone().requires_grad_()]
    fast = matryoshka_loss(info_nce, fast_in, dims, weights, temperature=0.2, symmetric=True)
    ref = _reference(
        info_nce, ref_in, dims, weights or [1.0] * len(dims), temperature=0.2, symmetric=True
    )
    fast.backward()
    ref.backward()
    torch.testing.assert_close(fast, ref)
    for f, r in zip(fast_in, ref_in, strict=True):
        torch.testing.assert_close(f.grad, r.grad)


def test_a_zero_weight_size_leaves_its_features_without_gradient():
    z = [torch.randn(6, 8, requires_grad=True) for _ in range(2)]
    matryoshka_loss(info_nce, z, [4, 8], [1.0, 0.0]).backward()
    assert (z[0].grad[:, 4:] == 0).all() and z[0].grad[:, :4].abs().sum() > 0


def test_module_wraps_a_loss_module_and_passes_keywords():
    a, p, s = torch.randn(8, 12), torch.randn(8, 12), torch.rand(8)
    wrapped = MatryoshkaLoss(cosent_loss, dims=[6, 12])
    expected = cosent_loss(a[:, :6], p[:, :6], s) + cosent_loss(a, p, s)
    torch.testing.assert_close(wrapped(a, p, scores=s), expected)
    ntx = MatryoshkaLoss(NTXentLoss(temperature=0.1), dims=[6, 12], weights=[2.0, 1.0])
    expected = 2 * NTXentLoss(0.1)(a[:, :6], p[:, :6]) + NTXentLoss(0.1)(a, p)
    torch.testing.assert_close(ntx(a, p), expected)
    assert "dims=[6, 12]" in repr(ntx)


@pytest.mark.parametrize(
    ("dims", "weights", "message"),
    [
        ([], None, "dims must be a non-empty"),
        ([0, 4], None, "sizes >= 1"),
        ([4, 4], None, "must not repeat"),
        ([4, 8], [1.0], "weights must be 2 numbers"),
        ([4, 8], [0.0, 0.0], "not all 0"),
        ([4, 32], None, "beyond the embedding size 16"),
    ],
)
def test_bad_sizes_and_weights_are_named(dims, weights, message):
    z = [torch.randn(4, 16), torch.randn(4, 16)]
    with pytest.raises(ValueError, match=message):
        matryoshka_loss(info_nce, z, dims, weights)
