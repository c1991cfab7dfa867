"""CoSENT and AnglE against plain loop references (value and gradient)."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.losses import angle_loss, cosent_loss
from contrastkit.losses.cosent import angle_difference


def _cos(u, v):
    return torch.dot(u, v) / (u.norm() * v.norm())


def _ranking(values, scores, scale):
    """log(1 + sum over (i, j) with s_i < s_j of exp(scale (v_i - v_j))), as a loop."""
    terms = [torch.zeros((), dtype=torch.float64)]
    n = len(values)
    for i in range(n):
        for j in range(n):
            if scores[i] < scores[j]:
                terms.append(scale * (values[i] - values[j]))
    return torch.logsumexp(torch.stack(terms), 0)


def _cosent_reference(a, p, s, scale=20.0):
    return _ranking([_cos(a[i], p[i]) for i in range(len(s))], s.tolist(), scale)


def _angle_reference(u, v):
    """AnglE's value of one pair from its complex numbers (the authors' formula): the sum of
    the real and imaginary parts of (z / w) * |w| / |z|, per complex coordinate, in abs."""
    h = u.shape[0] // 2
    z = [complex(u[k], u[h + k]) for k in range(h)]
    w = [complex(v[k], v[h + k]) for k in range(h)]
    norm_z = math.sqrt(sum(abs(x) ** 2 for x in z))
    norm_w = math.sqrt(sum(abs(x) ** 2 for x in w))
    total = 0.0
    for zk, wk in zip(z, w, strict=True):
        q = zk * wk.conjugate() / norm_w**2 / (norm_z / norm_w)
        total += q.real + q.imag
    return abs(total)


@pytest.mark.parametrize("n", [2, 5, 12])
@pytest.mark.parametrize("ties", [False, True])
def test_cosent_matches_the_loop_reference(n, ties):
    g = torch.Generator().manual_seed(n + 100 * ties)
    a = torch.randn(n, 10, generator=g, dtype=torch.float64)
    p = torch.randn(n, 10, generator=g, dtype=torch.float64)
    # ties: repeated scores (pairs of equal score are not compared), at least two distinct
    tied = (torch.randperm(n, generator=g) % max(2, n // 2)).double()
    s = tied if ties else torch.rand(n, generator=g).double() * 5
    fast_in = [a.float().requires_grad_(), p.float().requires_grad_()]
    ref_in = [a.clone().requires_grad_(), p.clone().requires_grad_()]
    fast = cosent_loss(*fast_in, s.float())
    ref = _cosent_reference(*ref_in, s)
    fast.backward()
    ref.backward()
    torch.testing.assert_close(fast.double(), ref.detach(), rtol=1e-5, atol=1e-6)
    for f, r in zip(fast_in, ref_in, strict=True):
        torch.testing.assert_close(f.grad.double(), r.grad, rtol=1e-4, atol=1e-6)


def test_angle_difference_matches_complex_arithmetic():
    g = torch.Generator().manual_seed(3)
    a, p = (
        torch.randn(6, 8, generator=g, dtype=torch.float64),
        torch.randn(6, 8, generator=g, dtype=torch.float64),
    )
    expected = torch.tensor([_angle_reference(a[i], p[i]) for i in range(6)], dtype=torch.float64)
    torch.testing.assert_close(angle_difference(a, p).double(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("w_cos", "w_angle"), [(1.0, 1.0), (0.0, 1.0), (0.3, 2.0)])
def test_angle_loss_matches_the_loop_reference(w_cos, w_angle):
    g = torch.Generator().manual_seed(11)
    n = 7
    a = torch.randn(n, 8, generator=g, dtype=torch.float64)
    p = torch.randn(n, 8, generator=g, dtype=torch.float64)
    s = torch.rand(n, generator=g)
    fast_in = [a.float().requires_grad_(), p.float().requires_grad_()]
    ref_in = [a.clone().requires_grad_(), p.clone().requires_grad_()]
    fast = angle_loss(*fast_in, s, cosine_weight=w_cos, angle_weight=w_angle)

    def angle(u, v):  # the same value with autograd, coordinate by coordinate
        h = u.shape[0] // 2
        nz, nw = u.norm(), v.norm()
        re = sum(u[k] * v[k] + u[h + k] * v[h + k] for k in range(h)) / (nw**2 * nz / nw)
        im = sum(u[h + k] * v[k] - u[k] * v[h + k] for k in range(h)) / (nw**2 * nz / nw)
        return (re + im).abs()

    ref = w_angle * _ranking([angle(ref_in[0][i], ref_in[1][i]) for i in range(n)], s.tolist(), 1.0)
    ref = ref + w_cos * _cosent_reference(*ref_in, s)
    fast.backward()
    ref.backward()
    torch.testing.assert_close(fast.double(), ref.detach(), rtol=1e-5, atol=1e-6)
    for f, r in zip(fast_in, ref_in, strict=True):
        torch.testing.assert_close(f.grad.double(), r.grad, rtol=1e-4, atol=1e-6)


def test_cosent_is_zero_when_ordered_far_apart_and_log2_for_one_swapped_pair():
    a = torch.eye(2)
    p_good = torch.tensor([[1.0, 0.0], [0.0, -1.0]])  # cos 1 for the high score, -1 for the low
    scores = torch.tensor([5.0, 0.0])
    assert cosent_loss(a, p_good, scores).item() == pytest.approx(math.log1p(math.exp(-40)))
    p_equal = torch.eye(2)  # both cos 1: one compared pair, exp(0)
    assert cosent_loss(a, p_equal, scores).item() == pytest.approx(math.log(2))
    assert cosent_loss(a, p_equal, torch.tensor([1.0, 1.0])).item() == 0.0  # no distinct scores


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="scores must be"):
        cosent_loss(torch.randn(4, 8), torch.randn(4, 8), torch.rand(3))
    with pytest.raises(ValueError, match="must be even"):
        angle_loss(torch.randn(4, 7), torch.randn(4, 7), torch.rand(4))
    with pytest.raises(ValueError, match="cosine_weight"):
        angle_loss(torch.randn(4, 8), torch.randn(4, 8), torch.rand(4), cosine_weight=-1.0)
