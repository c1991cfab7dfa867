"""Hard-negative NT-Xent against the paper's formula written with loops and exp() (float64),
the authors' vectorised code, NT-Xent at beta = 0, closed forms and low precision."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import nt_xent
from contrastkit.losses.hard_negative import HardNegativeNTXentLoss, hard_negative_nt_xent


def reference_hcl(z_a, z_b, temperature, beta, tau_plus):
    """Robinson et al. literally: per anchor, exp() of every similarity and plain sums."""
    z = [F.normalize(v.double(), dim=1) for v in (z_a, z_b)]
    n = z_a.shape[0]
    rows = [(v, i) for v in range(2) for i in range(n)]
    m = 2 * n - 2
    total = 0.0
    for v, i in rows:
        anchor = z[v][i]
        pos = torch.exp(anchor @ z[1 - v][i] / temperature)
        sims = [anchor @ z[w][j] for w, j in rows if (w, j) not in {(v, i), (1 - v, i)}]
        neg = [torch.exp(s / temperature) for s in sims]
        imp = [torch.exp(beta * s / temperature) for s in sims]
        reweight_neg = sum(w * x for w, x in zip(imp, neg, strict=True)) / (sum(imp) / m)
        ng = (-tau_plus * m * pos + reweight_neg) / (1 - tau_plus)
        ng = torch.clamp(ng, min=m * math.exp(-1 / temperature))
        total = total - torch.log(pos / (pos + ng))
    return total / (2 * n)


def authors_hcl(out_1, out_2, temperature, beta, tau_plus):
    """`criterion` of github.com/joshr17/HCL (image/main.py), estimator "hard"."""
    batch_size = out_1.shape[0]
    out_1, out_2 = F.normalize(out_1.double(), dim=1), F.normalize(out_2.double(), dim=1)
    out = torch.cat([out_1, out_2], dim=0)
    neg = torch.exp(torch.mm(out, out.t().contiguous()) / temperature)
    mask = torch.ones((batch_size, 2 * batch_size), dtype=torch.bool)
    for i in range(batch_size):
        mask[i, i] = 0
        mask[i, i + batch_size] = 0
    mask = torch.cat((mask, mask), 0)
    neg = neg.masked_select(mask).view(2 * batch_size, -1)
    pos = torch.exp(torch.sum(out_1 * out_2, dim=-1) / temperature)
    pos = torch.cat([pos, pos], dim=0)
    n_neg = batch_size * 2 - 2
    imp = (beta * neg.log()).exp()
    reweight_neg = (imp * neg).sum(dim=-1) / imp.mean(dim=-1)
    ng = (-tau_plus * n_neg * pos + reweight_neg) / (1 - tau_plus)
    ng = torch.clamp(ng, min=n_neg * math.e ** (-1 / temperature))
    return (-torch.log(pos / (pos + ng))).mean()


def _leaves(n, d, seed, dtype=torch.float32, correlated=0.0):
    g = torch.Generator().manual_seed(seed)
    z_a = torch.randn(n, d, generator=g)
    z_b = correlated * z_a + torch.randn(n, d, generator=g)
    return z_a.to(dtype).requires_grad_(), z_b.to(dtype).requires_grad_()


def _assert_matches(ours, ref, inputs, ref_inputs, rtol=1e-4, atol=1e-6):
    torch.testing.assert_close(ours.double(), ref.detach(), rtol=1e-5, atol=1e-5)
    g_ours = torch.autograd.grad(ours, inputs)
    g_ref = torch.autograd.grad(ref, ref_inputs)
    for a, b in zip(g_ours, g_ref, strict=True):
        torch.testing.assert_close(a.double(), b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("n", [2, 5, 9])
@pytest.mark.parametrize("temperature", [0.1, 0.5])
@pytest.mark.parametrize(
    ("beta", "tau_plus"), [(0.0, 0.0), (0.5, 0.0), (2.0, 0.0), (1.0, 0.1), (0.0, 0.3), (2.0, 0.5)]
)
def test_matches_reference_value_and_gradient(n, temperature, beta, tau_plus):
    z_a, z_b = _leaves(n, 8, seed=n * 10 + int(10 * beta), correlated=2.0)
    ours = hard_negative_nt_xent(z_a, z_b, temperature=temperature, beta=beta, tau_plus=tau_plus)
    ref_a, ref_b = (z.detach().double().requires_grad_() for z in (z_a, z_b))
    ref = reference_hcl(ref_a, ref_b, temperature, beta, tau_plus)
    assert ours.dtype == torch.float32
    _assert_matches(ours, ref, [z_a, z_b], [ref_a, ref_b])


@pytest.mark.parametrize(("beta", "tau_plus"), [(1.0, 0.1), (0.5, 0.0), (3.0, 0.2)])
def test_matches_the_authors_code(beta, tau_plus):
    z_a, z_b = _leaves(16, 32, seed=3, correlated=1.0)
    ours = hard_negative_nt_xent(z_a, z_b, temperature=0.5, beta=beta, tau_plus=tau_plus)
    ref_a, ref_b = (z.detach().double().requires_grad_() for z in (z_a, z_b))
    ref = authors_hcl(ref_a, ref_b, 0.5, beta, tau_plus)
    _assert_matches(ours, ref, [z_a, z_b], [ref_a, ref_b])


@pytest.mark.parametrize("n", [2, 7, 32])
@pytest.mark.parametrize("temperature", [0.05, 0.2, 1.0])
def test_beta_zero_without_debiasing_is_nt_xent(n, temperature):
    z_a, z_b = _leaves(n, 16, seed=n)
    ours = hard_negative_nt_xent(z_a, z_b, temperature=temperature, beta=0.0, tau_plus=0.0)
    plain = nt_xent(z_a, z_b, temperature=temperature)
    assert torch.equal(ours, plain)
    for a, b in zip(
        torch.autograd.grad(ours, [z_a, z_b]), torch.autograd.grad(plain, [z_a, z_b]), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-8)


def test_floor_binds_for_strong_debiasing():
    # Identical views: pos = exp(1/t) is the largest term, and with tau_plus = 0.5 the
    # debiased estimate (reweight_neg - 0.5 M pos) / 0.5 is negative for every anchor, so
    # Ng = M exp(-1/t) and loss = log(1 + M exp(-2/t)).
    n, t = 6, 0.5
    z_a, _ = _leaves(n, 16, seed=1)
    z_b = z_a.detach().clone().requires_grad_()
    ours = hard_negative_nt_xent(z_a, z_b, temperature=t, beta=1.0, tau_plus=0.5)
    expected = math.log(1 + (2 * n - 2) * math.exp(-2 / t))
    torch.testing.assert_close(ours, torch.tensor(expected))
    ref_a, ref_b = (z.detach().double().requires_grad_() for z in (z_a, z_b))
    _assert_matches(ours, reference_hcl(ref_a, ref_b, t, 1.0, 0.5), [z_a, z_b], [ref_a, ref_b])


def _hard_pair_batch():
    """Items on orthonormal axes, except item 1, which leans 45 degrees toward item 0."""
    e = torch.eye(6)
    return torch.stack([e[0], F.normalize(e[0] + e[1], dim=0), e[2], e[3]])


def test_larger_beta_weighs_the_hardest_negative_more():
    z = _hard_pair_batch()
    losses, ratios = [], []
    for beta in [0.0, 0.5, 1.0, 2.0, 4.0]:
        z_a, z_b = z.clone().requires_grad_(), z.clone().requires_grad_()
        loss = hard_negative_nt_xent(z_a, z_b, temperature=1.0, beta=beta)
        (grad,) = torch.autograd.grad(loss, z_a)
        # Row 0's gradient along e1 comes only from its pairs with item 1 (the hardest
        # negative), along e2 only from its pairs with item 2 (an easy one).
        losses.append(loss.item())
        ratios.append((grad[0, 1] / grad[0, 2]).item())
    assert all(b > a for a, b in itertools.pairwise(losses)), losses
    assert all(b > a for a, b in itertools.pairwise(ratios)), ratios
    assert ratios[-1] > 5 * ratios[0]


def test_large_beta_limit_is_the_hardest_negative():
    # beta -> inf: the weights concentrate on the most similar negative(s), reweight_neg ->
    # M exp(max_k s_k / t) and loss -> mean log(exp(s_pos / t) + M exp(max_k s_k / t)) - s_pos / t.
    noise = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    z = _hard_pair_batch() + 0.3 * noise
    t = 0.5
    ours = hard_negative_nt_xent(z, z.clone(), temperature=t, beta=1000.0)
    u = F.normalize(torch.cat([z, z]).double(), dim=1)
    sim = (u @ u.T / t).tolist()
    n, m = z.shape[0], 2 * z.shape[0] - 2
    expected = 0.0
    for i in range(2 * n):
        partner = (i + n) % (2 * n)
        hardest = max(sim[i][k] for k in range(2 * n) if k not in (i, partner))
        expected += math.log(math.exp(sim[i][partner]) + m * math.exp(hardest)) - sim[i][partner]
    torch.testing.assert_close(ours.item(), expected / (2 * n), rtol=1e-5, atol=1e-5)


def test_no_overflow_with_sharp_temperature_and_beta():
    # (1 + beta) * s / t reaches 500: exp() overflows in float32; the reference uses float64.
    z_a, z_b = _leaves(8, 4, seed=5, correlated=1.0)
    ours = hard_negative_nt_xent(z_a, z_b, temperature=0.01, beta=4.0, tau_plus=0.1)
    ref = reference_hcl(z_a.detach(), z_b.detach(), 0.01, 4.0, 0.1)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-4)
    assert all(torch.isfinite(g).all() for g in torch.autograd.grad(ours, [z_a, z_b]))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs_are_safe_and_close(dtype):
    z_a, z_b = ((z * 30).detach().requires_grad_() for z in _leaves(16, 16, seed=9, dtype=dtype))
    ours = hard_negative_nt_xent(z_a, z_b, temperature=0.05, beta=1.0, tau_plus=0.1)
    assert ours.dtype == torch.float32 and torch.isfinite(ours)
    ref_a, ref_b = (z.detach().double().requires_grad_() for z in (z_a, z_b))
    ref = reference_hcl(ref_a, ref_b, 0.05, 1.0, 0.1)
    torch.testing.assert_close(ours.double(), ref.detach(), rtol=1e-4, atol=1e-4)
    for a, b in zip(
        torch.autograd.grad(ours, [z_a, z_b]), torch.autograd.grad(ref, [ref_a, ref_b]), strict=True
    ):
        assert a.dtype == dtype and torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b, rtol=2e-2, atol=1e-4)


def test_bf16_autocast_keeps_float32_logits():
    z_a, z_b = _leaves(16, 8, seed=2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = hard_negative_nt_xent(z_a, z_b, temperature=0.1, beta=1.0, tau_plus=0.1)
    expected = hard_negative_nt_xent(z_a, z_b, temperature=0.1, beta=1.0, tau_plus=0.1)
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)


def test_symmetric_in_the_views_and_module_equals_function():
    z_a, z_b = _leaves(9, 5, seed=4)
    kwargs = {"temperature": 0.3, "beta": 1.5, "tau_plus": 0.05}
    loss = hard_negative_nt_xent(z_a, z_b, **kwargs)
    torch.testing.assert_close(loss, hard_negative_nt_xent(z_b, z_a, **kwargs))
    torch.testing.assert_close(HardNegativeNTXentLoss(**kwargs)(z_a, z_b), loss)


PAIR = (torch.randn(4, 3), torch.randn(4, 3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hard_negative_nt_xent(*PAIR, temperature=0), "temperature"),
        (lambda: hard_negative_nt_xent(*PAIR, beta=-0.5), "beta.*-0.5"),
        (lambda: hard_negative_nt_xent(*PAIR, tau_plus=1.0), "tau_plus.*\\[0, 1\\)"),
        (lambda: hard_negative_nt_xent(*PAIR, tau_plus=-0.1), "tau_plus"),
        (lambda: hard_negative_nt_xent(PAIR[0], torch.randn(5, 3)), "z_b"),
        (lambda: hard_negative_nt_xent(torch.randn(4), torch.randn(4)), "2-D"),
        (lambda: hard_negative_nt_xent(PAIR[0][:1], PAIR[1][:1]), "at least 2 items"),
        (lambda: hard_negative_nt_xent(*PAIR, gather=True), "gather"),
        (lambda: HardNegativeNTXentLoss(beta=-1.0), "beta"),
        (lambda: HardNegativeNTXentLoss(tau_plus=0.99, temperature=-1.0), "temperature"),
        (lambda: HardNegativeNTXentLoss(gather=True), "gather"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
