"""negative_cosine (SimSiam) and byol_loss against loop references, stop-gradient, closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.losses.negative_cosine import (
    BYOLLoss,
    NegativeCosineLoss,
    byol_loss,
    negative_cosine,
)


def reference_cosines(p, z):
    """Cosine of each row pair, float64, one row at a time; z treated as a constant."""
    p, z = p.double(), z.detach().double()
    return [
        sum(p[i, k] * z[i, k] for k in range(p.shape[1]))
        / (torch.sqrt(sum(p[i, k] ** 2 for k in range(p.shape[1]))) * torch.linalg.norm(z[i]))
        for i in range(p.shape[0])
    ]


def reference_negative_cosine(p, z):
    """SimSiam's D(p, stopgrad(z))."""
    cosines = reference_cosines(p, z)
    return -sum(cosines) / len(cosines)


def reference_byol(p, z):
    """BYOL's eq. 2, written as the squared distance of the normalised vectors."""
    p, z = p.double(), z.detach().double()
    total = 0.0
    for i in range(p.shape[0]):
        diff = p[i] / torch.linalg.norm(p[i]) - z[i] / torch.linalg.norm(z[i])
        total = total + (diff**2).sum()
    return total / p.shape[0]


LOSSES = {
    "negative_cosine": (negative_cosine, reference_negative_cosine),
    "byol": (byol_loss, reference_byol),
}


def _leaves(n, d, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g).to(dtype).requires_grad_() for _ in range(2)]


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize(("n", "d"), [(1, 3), (2, 1), (5, 8), (16, 7)])
def test_matches_reference_value_and_gradient(name, n, d):
    loss_fn, reference = LOSSES[name]
    p, z = _leaves(n, d, seed=10 * n + d)
    ours = loss_fn(p, z)
    ref = reference(p, z)
    assert ours.dtype == torch.float32 and ours.shape == ()
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-6)
    (g_ours,) = torch.autograd.grad(ours, p)
    (g_ref,) = torch.autograd.grad(ref, p)
    torch.testing.assert_close(g_ours.double(), g_ref.double(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_flows_to_p_but_not_z(name):
    loss_fn, _ = LOSSES[name]
    p, z = _leaves(6, 5, seed=1)
    loss_fn(p, z).backward()
    assert p.grad is not None and p.grad.abs().sum() > 0
    assert z.grad is None
    # The target, even when computed from parameters, stays out of the graph.
    w = torch.randn(5, 5, requires_grad=True)
    p2, z2 = _leaves(6, 5, seed=2)
    (g_w,) = torch.autograd.grad(loss_fn(p2, z2 @ w), w, allow_unused=True)
    assert g_w is None


def test_byol_is_two_plus_twice_negative_cosine():
    p, z = _leaves(9, 4, seed=3)
    torch.testing.assert_close(byol_loss(p, z), 2 + 2 * negative_cosine(p, z))


@pytest.mark.parametrize("n", [1, 7])
def test_closed_forms(n):
    x = torch.randn(n, 6, generator=torch.Generator().manual_seed(n))
    # Identical directions: cos = 1.
    torch.testing.assert_close(negative_cosine(x, x), torch.tensor(-1.0))
    torch.testing.assert_close(byol_loss(x, x), torch.tensor(0.0), atol=1e-6, rtol=0)
    # Opposite directions: cos = -1.
    torch.testing.assert_close(negative_cosine(x, -x), torch.tensor(1.0))
    torch.testing.assert_close(byol_loss(x, -x), torch.tensor(4.0))
    # Orthogonal rows: cos = 0.
    eye = torch.eye(2 * n)
    torch.testing.assert_close(negative_cosine(eye[:n], eye[n:]), torch.tensor(0.0))
    torch.testing.assert_close(byol_loss(eye[:n], eye[n:]), torch.tensor(2.0))


def test_scale_invariance_per_row():
    p, z = _leaves(8, 5, seed=4)
    g = torch.Generator().manual_seed(5)
    a = torch.rand(8, 1, generator=g) * 10 + 0.1
    b = torch.rand(8, 1, generator=g) * 10 + 0.1
    for loss_fn in (negative_cosine, byol_loss):
        torch.testing.assert_close(loss_fn(a * p, b * z), loss_fn(p, z))


def test_range():
    p, z = _leaves(64, 3, seed=6)
    assert -1 <= negative_cosine(p, z) <= 1
    assert 0 <= byol_loss(p, z) <= 4


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs_are_close(name, dtype):
    loss_fn, reference = LOSSES[name]
    p, z = [(v * 100).detach().requires_grad_() for v in _leaves(32, 8, seed=7, dtype=dtype)]
    ours = loss_fn(p, z)
    assert ours.dtype == torch.float32 and torch.isfinite(ours)
    p64 = p.detach().double().requires_grad_()
    ref = reference(p64, z.detach().double())
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    (g_ours,) = torch.autograd.grad(ours, p)
    (g_ref,) = torch.autograd.grad(ref, p64)
    assert g_ours.dtype == dtype and torch.isfinite(g_ours).all()
    torch.testing.assert_close(g_ours.double(), g_ref, rtol=2e-2, atol=1e-5)


def test_autocast_keeps_float32():
    p, z = _leaves(16, 8, seed=8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = negative_cosine(p, z)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, negative_cosine(p, z), rtol=1e-6, atol=1e-6)


def test_zero_rows_count_as_orthogonal():
    p = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    z = torch.tensor([[1.0, 1.0], [2.0, 0.0]])
    assert math.isclose(float(negative_cosine(p, z)), -0.5, abs_tol=1e-7)


@pytest.mark.parametrize("loss_fn", [negative_cosine, byol_loss])
@pytest.mark.parametrize(
    ("p", "z", "message"),
    [
        (torch.randn(4), torch.randn(4), "p must be a 2-D"),
        (torch.randn(4, 3), torch.randn(4, 2), "z must have the shape"),
        (torch.randn(4, 3), torch.randn(3, 3), "z must have the shape"),
        (torch.randn(0, 3), torch.randn(0, 3), "at least 1 row"),
    ],
)
def test_bad_shapes_are_named(loss_fn, p, z, message):
    with pytest.raises(ValueError, match=message):
        loss_fn(p, z)


def test_modules_equal_functions():
    p, z = _leaves(5, 4, seed=9)
    torch.testing.assert_close(NegativeCosineLoss()(p, z), negative_cosine(p, z))
    torch.testing.assert_close(BYOLLoss()(p, z), byol_loss(p, z))
