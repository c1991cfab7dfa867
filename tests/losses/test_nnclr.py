"""NNCLR's loss against slow references (value and gradient): an explicit loop over rows,
and algorithm 1 of the paper as written."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import nearest_neighbours, nnclr_loss


def _nn_loop(z: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """Top-1 cosine neighbour by an explicit search (first of equal ones)."""
    out = []
    for i in range(z.shape[0]):
        best, best_sim = 0, -math.inf
        for j in range(support.shape[0]):
            sim = float(z[i] @ support[j] / (z[i].norm() * support[j].norm()))
            if sim > best_sim:
                best, best_sim = j, sim
        out.append(support[best] / support[best].norm())
    return torch.stack(out)


def _l_loop(nn: torch.Tensor, p: torch.Tensor, t: float) -> torch.Tensor:
    """-mean_i log(exp(nn_i.p_i / t) / sum_k exp(nn_i.p_k / t)), unit vectors, row by row."""
    total = 0.0
    for i in range(nn.shape[0]):
        a = nn[i] / nn[i].norm()
        sims = [a @ (p[k] / p[k].norm()) / t for k in range(p.shape[0])]
        total = total - (sims[i] - torch.logsumexp(torch.stack(sims), dim=0))
    return total / nn.shape[0]


def _reference(z_a, z_b, p_a, p_b, support, t):
    if support.shape[0] == 0:  # no support set yet: each projection is its own neighbour
        nn_a, nn_b = z_a.detach(), z_b.detach()
    else:
        nn_a, nn_b = _nn_loop(z_a.detach(), support), _nn_loop(z_b.detach(), support)
    return _l_loop(nn_a, p_b, t) / 2 + _l_loop(nn_b, p_a, t) / 2


def _paper(z1, z2, p1, p2, queue, temperature):
    """Algorithm 1 of Dwibedi et al. 2021: NN(z, Q) and L(nn, p) as printed."""

    def nn_lookup(z, q):
        z, q = F.normalize(z, dim=1), F.normalize(q, dim=1)
        return q[(z @ q.T).argmax(dim=1)]

    def loss_fn(nn, p):
        nn, p = F.normalize(nn, dim=1), F.normalize(p, dim=1)
        logits = nn @ p.T / temperature
        return F.cross_entropy(logits, torch.arange(p.shape[0]))

    nn1, nn2 = nn_lookup(z1.detach(), queue), nn_lookup(z2.detach(), queue)
    return loss_fn(nn1, p2) / 2 + loss_fn(nn2, p1) / 2


def _inputs(n: int, k: int, d: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = [torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(4)]
    support = F.normalize(torch.randn(k, d, generator=g, dtype=torch.float64), dim=1)
    return (*x, support)


CASES = [(4, 7, 5, 0.1), (9, 3, 8, 0.07), (1, 1, 2, 1.0), (6, 40, 16, 0.2), (5, 0, 4, 0.1)]


@pytest.mark.parametrize(("n", "k", "d", "t"), CASES)
def test_value_and_gradient_match_the_loop_reference(n, k, d, t):
    z_a, z_b, p_a, p_b, support = _inputs(n, k, d, seed=n * 100 + k)
    got = nnclr_loss(z_a, z_b, p_a=p_a, p_b=p_b, support=support, temperature=t)
    want = _reference(z_a, z_b, p_a, p_b, support, t)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-6)
    *g_got, g_za, g_zb = torch.autograd.grad(got, [p_a, p_b, z_a, z_b], allow_unused=True)
    g_want = torch.autograd.grad(want, [p_a, p_b])
    for a, b in zip(g_got, g_want, strict=True):
        torch.testing.assert_close(a.double(), b, rtol=1e-4, atol=1e-6)
    assert g_za is None and g_zb is None  # no gradient through the neighbours


@pytest.mark.parametrize(("n", "k", "d", "t"), CASES[:4])
def test_matches_the_papers_algorithm(n, k, d, t):
    z_a, z_b, p_a, p_b, support = _inputs(n, k, d, seed=7 + n)
    got = nnclr_loss(z_a, z_b, p_a=p_a, p_b=p_b, support=support, temperature=t)
    want = _paper(z_a, z_b, p_a, p_b, support, t)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-6)
    for a, b in zip(
        torch.autograd.grad(got, [p_a, p_b]), torch.autograd.grad(want, [p_a, p_b]), strict=True
    ):
        torch.testing.assert_close(a.double(), b, rtol=1e-4, atol=1e-6)


def test_nearest_neighbours_match_an_explicit_search():
    g = torch.Generator().manual_seed(0)
    z, support = torch.randn(20, 6, generator=g), 3 * torch.randn(50, 6, generator=g)
    torch.testing.assert_close(nearest_neighbours(z, support), _nn_loop(z, support))
    # the neighbour is the unit row itself when z is a (scaled) row of the support set
    torch.testing.assert_close(
        nearest_neighbours(5 * support[[3, 7]], support), F.normalize(support[[3, 7]], dim=1)
    )


def test_closed_form_with_orthogonal_predictions():
    # z's neighbours are e_i, predictions p_i = e_i: logits diag 1/t, others 0
    t, n = 0.5, 3
    eye = torch.eye(n)
    loss = nnclr_loss(eye, eye, p_a=eye, p_b=eye, support=eye.flip(0), temperature=t)
    want = -(1 / t - math.log(math.exp(1 / t) + (n - 1)))
    assert loss.item() == pytest.approx(want, rel=1e-6)


def test_bf16_inputs_are_finite_and_close():
    z_a, z_b, p_a, p_b, support = (x.detach().float() for x in _inputs(16, 64, 32, seed=1))
    full = nnclr_loss(z_a, z_b, p_a=p_a, p_b=p_b, support=support, temperature=0.1)
    bf = [x.bfloat16() for x in (z_a, z_b, p_a, p_b, support)]
    half = nnclr_loss(bf[0], bf[1], p_a=bf[2], p_b=bf[3], support=bf[4], temperature=0.1)
    assert half.dtype == torch.float32 and torch.isfinite(half)
    assert half.item() == pytest.approx(full.item(), rel=0.05)


def test_errors_name_the_argument():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match="p_b"):
        nnclr_loss(x, x, p_a=x, p_b=torch.randn(4, 5), support=x)
    with pytest.raises(ValueError, match="support"):
        nnclr_loss(x, x, p_a=x, p_b=x, support=torch.randn(6, 5))
    with pytest.raises(ValueError, match="temperature"):
        nnclr_loss(x, x, p_a=x, p_b=x, support=x, temperature=0.0)
