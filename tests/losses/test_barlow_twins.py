"""barlow_twins_loss against a slow reference and the authors' code, plus invariances."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.losses.barlow_twins import BarlowTwinsLoss, barlow_twins_loss, off_diagonal


def reference_barlow_twins(z1, z2, lambda_, eps=1e-5):
    """Double loop over feature pairs, float64; each feature standardised with the biased std."""
    z1, z2 = z1.double(), z2.double()
    n, d = z1.shape

    def standardise(z):
        columns = []
        for k in range(d):
            mean = sum(z[i, k] for i in range(n)) / n
            var = sum((z[i, k] - mean) ** 2 for i in range(n)) / n
            columns.append((z[:, k] - mean) / torch.sqrt(var + eps))
        return columns

    a, b = standardise(z1), standardise(z2)
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c_ij = (a[i] * b[j]).sum() / n
            loss = loss + ((1 - c_ij) ** 2 if i == j else lambda_ * c_ij**2)
    return loss


def authors_barlow_twins(z1, z2, lambda_):
    """Algorithm 1 / the official code: BatchNorm1d(affine=False), C / N, off_diagonal."""
    bn = nn.BatchNorm1d(z1.shape[1], affine=False).double().train()
    c = bn(z1.double()).T @ bn(z2.double()) / z1.shape[0]
    on_diag = (torch.diagonal(c) - 1).pow(2).sum()
    d = c.shape[0]
    off = c.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()
    return on_diag + lambda_ * off.pow(2).sum()


def _leaves(n, d, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g).to(dtype).requires_grad_() for _ in range(2)]


def _decorrelated(n, d, seed):
    """(n, d), d < n: columns of mean 0, biased variance 1, mutually orthogonal."""
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    q, _ = torch.linalg.qr(x - x.mean(dim=0))  # columns stay orthogonal to the ones vector
    return (q * n**0.5).float()


@pytest.mark.parametrize(("n", "d"), [(2, 1), (3, 4), (8, 5), (17, 12)])
@pytest.mark.parametrize("lambda_", [0.0, 5e-3, 0.7])
def test_matches_reference_value_and_gradient(n, d, lambda_):
    z1, z2 = _leaves(n, d, seed=100 * n + d)
    ours = barlow_twins_loss(z1, z2, lambda_=lambda_)
    ref = reference_barlow_twins(z1, z2, lambda_)
    assert ours.dtype == torch.float32 and ours.shape == ()
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    g_ours = torch.autograd.grad(ours, [z1, z2])
    g_ref = torch.autograd.grad(ref, [z1, z2])
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a.double(), b.double(), rtol=1e-4, atol=1e-5)


def test_eps_zero_matches_plain_correlation():
    z1, z2 = _leaves(6, 4, seed=3)
    ours = barlow_twins_loss(z1, z2, lambda_=0.1, eps=0.0)
    torch.testing.assert_close(ours.double(), reference_barlow_twins(z1, z2, 0.1, eps=0.0))
    assert not torch.isclose(ours, barlow_twins_loss(z1, z2, lambda_=0.1, eps=1.0))


@pytest.mark.parametrize("lambda_", [5e-3, 0.3])
def test_matches_authors_formulation(lambda_):
    z1, z2 = _leaves(16, 10, seed=11)
    ours = barlow_twins_loss(z1, z2, lambda_=lambda_)
    ref = authors_barlow_twins(z1, z2, lambda_)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(
        torch.autograd.grad(ours, [z1, z2]), torch.autograd.grad(ref, [z1, z2]), strict=True
    ):
        torch.testing.assert_close(a.double(), b.double(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("eps", [0.0, 1e-5])
def test_invariant_to_per_feature_affine_maps(eps):
    z1, z2 = (z.detach() for z in _leaves(20, 6, seed=5))
    g = torch.Generator().manual_seed(6)
    a1, a2 = (torch.rand(6, generator=g) * 3 + 0.5 for _ in range(2))
    b1, b2 = (torch.randn(6, generator=g) * 5 for _ in range(2))
    loss = barlow_twins_loss(z1, z2, lambda_=0.05, eps=eps)
    torch.testing.assert_close(
        barlow_twins_loss(a1 * z1 + b1, a2 * z2 + b2, lambda_=0.05, eps=eps),
        loss,
        rtol=1e-4 if eps else 1e-5,
        atol=1e-5,
    )
    # A negative scale flips that feature's correlations: not an invariance.
    flip = torch.ones(6)
    flip[0] = -1
    assert barlow_twins_loss(z1 * flip, z2, lambda_=0.05, eps=eps) != pytest.approx(float(loss))


def test_symmetric_in_the_two_views():
    z1, z2 = _leaves(11, 7, seed=7)
    torch.testing.assert_close(
        barlow_twins_loss(z1, z2, lambda_=0.2), barlow_twins_loss(z2, z1, lambda_=0.2)
    )


@pytest.mark.parametrize(("n", "d"), [(8, 7), (32, 16)])
def test_closed_form_identical_decorrelated_views_give_zero(n, d):
    z = _decorrelated(n, d, seed=n)
    # C = I exactly with eps = 0; with the default eps, C_ii = 1 / (1 + eps).
    torch.testing.assert_close(
        barlow_twins_loss(z, z.clone(), lambda_=1.0, eps=0.0), torch.tensor(0.0), atol=1e-9, rtol=0
    )
    assert float(barlow_twins_loss(z, z.clone(), lambda_=1.0)) < 1e-8
    # The same features in another order: C is a permutation, D - 1 diagonal misses.
    perm = torch.roll(torch.arange(d), 1)
    torch.testing.assert_close(
        barlow_twins_loss(z, z[:, perm], lambda_=0.5, eps=0.0),
        torch.tensor(d + 0.5 * d),
        rtol=1e-5,
        atol=1e-5,
    )


def test_closed_form_identical_views_have_no_invariance_error():
    z, _ = _leaves(12, 5, seed=8)
    torch.testing.assert_close(
        barlow_twins_loss(z, z, lambda_=0.0, eps=0.0), torch.tensor(0.0), atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs_are_close(dtype):
    z1, z2 = [(v * 30 + 7).detach().requires_grad_() for v in _leaves(64, 16, seed=9, dtype=dtype)]
    ours = barlow_twins_loss(z1, z2)
    assert ours.dtype == torch.float32 and torch.isfinite(ours)
    ref_inputs = [v.detach().double().requires_grad_() for v in (z1, z2)]
    ref = authors_barlow_twins(*ref_inputs, 5e-3)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=1e-4)
    g_ours = torch.autograd.grad(ours, [z1, z2])
    g_ref = torch.autograd.grad(ref, ref_inputs)
    for a, b in zip(g_ours, g_ref, strict=True):
        assert a.dtype == dtype and torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b, rtol=2e-2, atol=1e-4)


def test_autocast_keeps_float32():
    z1, z2 = _leaves(32, 16, seed=10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = barlow_twins_loss(z1, z2)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, barlow_twins_loss(z1, z2), rtol=1e-6, atol=1e-6)


def test_constant_feature_stays_finite():
    z1, z2 = _leaves(8, 3, seed=12)
    z1 = z1.detach().clone()
    z1[:, 0] = 4.0
    loss = barlow_twins_loss(z1, z2)
    assert torch.isfinite(loss)


def test_off_diagonal():
    x = torch.arange(16.0).view(4, 4)
    expected = torch.tensor([x[i, j] for i in range(4) for j in range(4) if i != j])
    torch.testing.assert_close(off_diagonal(x), expected)
    assert off_diagonal(torch.ones(1, 1)).numel() == 0
    with pytest.raises(ValueError, match="square"):
        off_diagonal(torch.ones(2, 3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: barlow_twins_loss(torch.randn(4), torch.randn(4)), "z1 must be a 2-D"),
        (lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 2)), "z2 must have"),
        (lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(5, 3)), "z2 must have"),
        (lambda: barlow_twins_loss(torch.randn(1, 3), torch.randn(1, 3)), "at least 2 rows"),
        (
            lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 3), lambda_=-0.1),
            "lambda_ must be >= 0, got -0.1",
        ),
        (
            lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 3), lambda_=float("nan")),
            "lambda_",
        ),
        (lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 3), eps=-1.0), "eps"),
        (lambda: barlow_twins_loss(torch.randn(4, 3), torch.randn(4, 3), gather=True), "gather"),
        (lambda: BarlowTwinsLoss(lambda_=-1.0), "lambda_"),
        (lambda: BarlowTwinsLoss(gather=True), "gather"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_module_equals_function():
    z1, z2 = _leaves(6, 4, seed=13)
    loss_fn = BarlowTwinsLoss(lambda_=0.02)
    torch.testing.assert_close(loss_fn(z1, z2), barlow_twins_loss(z1, z2, lambda_=0.02))
    assert "lambda_=0.02" in repr(loss_fn)
