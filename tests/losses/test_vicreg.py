"""vicreg_loss, term by term, against a slow reference and the authors' code; closed forms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.vicreg import VICRegLoss, VICRegTerms, vicreg_loss

TERMS = ("loss", "invariance", "variance", "covariance")


def reference_vicreg(z1, z2, sim_weight=25.0, var_weight=25.0, cov_weight=1.0, eps=1e-4):
    """Loops over rows and feature pairs, float64."""
    z1, z2 = z1.double(), z2.double()
    n, d = z1.shape
    invariance = sum((z1[i, k] - z2[i, k]) ** 2 for i in range(n) for k in range(d)) / (n * d)

    def variance_and_covariance(z):
        means = [sum(z[i, k] for i in range(n)) / n for k in range(d)]
        centred = [[z[i, k] - means[k] for k in range(d)] for i in range(n)]
        hinge, cov_sq = z.new_zeros(()), z.new_zeros(())
        for k in range(d):
            var = sum(centred[i][k] ** 2 for i in range(n)) / (n - 1)
            hinge = hinge + torch.relu(1 - torch.sqrt(var + eps))
            for m in range(d):
                if m != k:
                    cov = sum(centred[i][k] * centred[i][m] for i in range(n)) / (n - 1)
                    cov_sq = cov_sq + cov**2
        return hinge / d, cov_sq / d

    var_1, cov_1 = variance_and_covariance(z1)
    var_2, cov_2 = variance_and_covariance(z2)
    variance = (var_1 + var_2) / 2
    covariance = cov_1 + cov_2
    loss = sim_weight * invariance + var_weight * variance + cov_weight * covariance
    return VICRegTerms(loss, invariance, variance, covariance)


def authors_vicreg(x, y, sim_coeff=25.0, std_coeff=25.0, cov_coeff=1.0):
    """VICReg.forward of facebookresearch/vicreg (single process), float64."""
    x, y = x.double(), y.double()
    batch_size, num_features = x.shape

    def off_diagonal(m):
        n = m.shape[0]
        return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()

    repr_loss = F.mse_loss(x, y)
    x = x - x.mean(dim=0)
    y = y - y.mean(dim=0)
    std_x = torch.sqrt(x.var(dim=0) + 0.0001)
    std_y = torch.sqrt(y.var(dim=0) + 0.0001)
    std_loss = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
    cov_x = (x.T @ x) / (batch_size - 1)
    cov_y = (y.T @ y) / (batch_size - 1)
    cov_loss = off_diagonal(cov_x).pow_(2).sum().div(num_features) + off_diagonal(cov_y).pow_(
        2
    ).sum().div(num_features)
    return sim_coeff * repr_loss + std_coeff * std_loss + cov_coeff * cov_loss


def _leaves(n, d, seed, dtype=torch.float32, scale=0.7):
    # scale < 1 keeps some features' std below 1, so the variance hinge is active.
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(n, d, generator=g) * scale).to(dtype).requires_grad_() for _ in range(2)]


def _uncorrelated(n, d, seed, std=1.0):
    """(n, d), d < n: centred, mutually orthogonal columns of unbiased std `std`."""
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    q, _ = torch.linalg.qr(x - x.mean(dim=0))
    return (q * std * (n - 1) ** 0.5).float()


@pytest.mark.parametrize(("n", "d"), [(2, 1), (3, 4), (9, 6), (16, 11)])
@pytest.mark.parametrize("weights", [(25.0, 25.0, 1.0), (1.0, 3.0, 0.5)])
def test_each_term_matches_reference_value_and_gradient(n, d, weights):
    z1, z2 = _leaves(n, d, seed=100 * n + d)
    ours = vicreg_loss(z1, z2, sim_weight=weights[0], var_weight=weights[1], cov_weight=weights[2])
    ref = reference_vicreg(z1, z2, *weights)
    assert isinstance(ours, VICRegTerms)
    for name in TERMS:
        got, want = getattr(ours, name), getattr(ref, name)
        assert got.dtype == torch.float32 and got.shape == ()
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-6, msg=name)
        g_ours = torch.autograd.grad(got, [z1, z2], retain_graph=True, allow_unused=True)
        g_ref = (
            torch.autograd.grad(want, [z1, z2], retain_graph=True, allow_unused=True)
            if want.requires_grad  # no feature pairs when D = 1: a constant 0
            else (None, None)
        )
        for a, b in zip(g_ours, g_ref, strict=True):
            a = torch.zeros_like(z1) if a is None else a
            b = torch.zeros_like(z1) if b is None else b
            torch.testing.assert_close(a.double(), b.double(), rtol=1e-4, atol=1e-6, msg=name)


def test_variance_hinge_is_active_in_the_reference_cases():
    z1, z2 = _leaves(9, 6, seed=906)
    assert 0 < float(vicreg_loss(z1, z2).variance.detach()) < 1


@pytest.mark.parametrize("eps", [1e-4, 0.3])
def test_eps_enters_the_std(eps):
    z1, z2 = _leaves(7, 3, seed=4)
    ours = vicreg_loss(z1, z2, eps=eps).variance
    torch.testing.assert_close(ours.double(), reference_vicreg(z1, z2, eps=eps).variance)


def test_matches_authors_code():
    z1, z2 = _leaves(24, 10, seed=5)
    ours = vicreg_loss(z1, z2).loss
    ref = authors_vicreg(z1, z2)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    for a, b in zip(
        torch.autograd.grad(ours, [z1, z2]), torch.autograd.grad(ref, [z1, z2]), strict=True
    ):
        torch.testing.assert_close(a.double(), b.double(), rtol=1e-4, atol=1e-6)


def test_symmetric_in_the_two_views():
    z1, z2 = _leaves(10, 5, seed=6)
    for a, b in zip(vicreg_loss(z1, z2), vicreg_loss(z2, z1), strict=True):
        torch.testing.assert_close(a, b)


def test_closed_form_identical_views_have_zero_invariance():
    z, _ = _leaves(8, 4, seed=7)
    terms = VICRegTerms(*(t.detach() for t in vicreg_loss(z, z.clone())))
    assert float(terms.invariance) == 0.0
    assert float(terms.loss) == pytest.approx(25 * float(terms.variance) + float(terms.covariance))


def test_closed_form_std_at_least_one_gives_zero_variance():
    z1, z2 = _uncorrelated(12, 5, seed=8, std=1.0), _uncorrelated(12, 5, seed=9, std=2.5)
    z1, z2 = z1 * torch.linspace(1, 3, 5) + 4, z2 - 1  # any std >= 1, any mean
    assert float(vicreg_loss(z1, z2).variance) == 0.0


def test_closed_form_constant_batch():
    # std = sqrt(eps) for every feature: each branch's hinge is 1 - sqrt(eps); no covariance.
    for eps in (1e-4, 0.01):
        terms = vicreg_loss(torch.full((6, 4), 3.0), torch.full((6, 4), -2.0), eps=eps)
        torch.testing.assert_close(terms.variance, torch.tensor(1 - math.sqrt(eps)))
        torch.testing.assert_close(terms.covariance, torch.tensor(0.0))
        torch.testing.assert_close(terms.invariance, torch.tensor(25.0))


def test_closed_form_uncorrelated_standardised_columns():
    z1, z2 = _uncorrelated(16, 6, seed=10), _uncorrelated(16, 6, seed=11)
    terms = vicreg_loss(z1, z2)
    torch.testing.assert_close(terms.covariance, torch.tensor(0.0), atol=1e-10, rtol=0)
    torch.testing.assert_close(terms.variance, torch.tensor(0.0), atol=1e-10, rtol=0)
    # Correlated columns: duplicating feature 0 as feature 1 gives cov_01 = cov_10 = 1.
    z3 = z1.clone()
    z3[:, 1] = z3[:, 0]
    torch.testing.assert_close(
        vicreg_loss(z3, z3).covariance, torch.tensor(2 * 2 / 6.0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs_are_close(dtype):
    z1, z2 = [(v * 3 + 5).detach().requires_grad_() for v in _leaves(64, 16, seed=12, dtype=dtype)]
    ours = vicreg_loss(z1, z2).loss
    assert ours.dtype == torch.float32 and torch.isfinite(ours)
    ref_inputs = [v.detach().double().requires_grad_() for v in (z1, z2)]
    ref = authors_vicreg(*ref_inputs)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=1e-4)
    g_ours = torch.autograd.grad(ours, [z1, z2])
    g_ref = torch.autograd.grad(ref, ref_inputs)
    for a, b in zip(g_ours, g_ref, strict=True):
        assert a.dtype == dtype and torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b, rtol=2e-2, atol=1e-3)


def test_autocast_keeps_float32():
    z1, z2 = _leaves(32, 16, seed=13)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = vicreg_loss(z1, z2)
    for got, want in zip(terms, vicreg_loss(z1, z2), strict=True):
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vicreg_loss(torch.randn(4), torch.randn(4)), "z1 must be a 2-D"),
        (lambda: vicreg_loss(torch.randn(4, 3), torch.randn(4, 2)), "z2 must have"),
        (lambda: vicreg_loss(torch.randn(4, 3), torch.randn(3, 3)), "z2 must have"),
        (lambda: vicreg_loss(torch.randn(1, 3), torch.randn(1, 3)), "at least 2 rows"),
        (
            lambda: vicreg_loss(torch.randn(4, 3), torch.randn(4, 3), sim_weight=-1.0),
            "sim_weight must be >= 0, got -1.0",
        ),
        (lambda: vicreg_loss(torch.randn(4, 3), torch.randn(4, 3), var_weight=-1), "var_weight"),
        (lambda: vicreg_loss(torch.randn(4, 3), torch.randn(4, 3), cov_weight=-2), "cov_weight"),
        (lambda: vicreg_loss(torch.randn(4, 3), torch.randn(4, 3), eps=0.0), "eps"),
        (lambda: vicreg_loss(torch.randn(4, 3), torch.randn(4, 3), gather=True), "gather"),
        (lambda: VICRegLoss(cov_weight=-1.0), "cov_weight"),
        (lambda: VICRegLoss(gather=True), "gather"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_module_equals_function():
    z1, z2 = _leaves(6, 4, seed=14)
    loss_fn = VICRegLoss(sim_weight=2.0, var_weight=3.0, cov_weight=4.0)
    for got, want in zip(
        loss_fn(z1, z2),
        vicreg_loss(z1, z2, sim_weight=2.0, var_weight=3.0, cov_weight=4.0),
        strict=True,
    ):
        torch.testing.assert_close(got, want)
    assert "cov_weight=4.0" in repr(loss_fn)
