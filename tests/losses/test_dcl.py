"""dcl_loss against the paper's formula written with loops, the reference code's form, and
closed forms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.dcl import DCLLoss, dcl_loss
from contrastkit.losses.info_nce import nt_xent


def reference_dcl(z1, z2, temperature, weight_sigma=None, detach_weight=False):
    """Yeh et al., float64 loops: mean over i of
    l_i = -w_i <a_i, b_i> / t + log sum_{k != i} (e^{<a_i, a_k> / t} + e^{<a_i, b_k> / t}),
    averaged over the directions (z1, z2) and (z2, z1)."""
    a0, b0 = F.normalize(z1.double(), dim=1), F.normalize(z2.double(), dim=1)
    n = a0.shape[0]
    if weight_sigma is None:
        weights = [1.0] * n
    else:
        e = [torch.exp(a0[j] @ b0[j] / weight_sigma) for j in range(n)]
        weights = [2 - e[i] / (sum(e) / n) for i in range(n)]
        weights = [w.detach() for w in weights] if detach_weight else weights
    directions = []
    for a, b in ((a0, b0), (b0, a0)):
        total = 0.0
        for i in range(n):
            negatives = [a[i] @ a[k] / temperature for k in range(n) if k != i]
            negatives += [a[i] @ b[k] / temperature for k in range(n) if k != i]
            total = total - weights[i] * (a[i] @ b[i]) / temperature
            total = total + torch.logsumexp(torch.stack(negatives), 0)
        directions.append(total / n)
    return (directions[0] + directions[1]) / 2


def authors_dcl(z1, z2, temperature, sigma=None):
    """The reference code's one-way DCL / DCLW (raminnakhli/Decoupled-Contrastive-Learning),
    on normalised inputs, with its additive log(1e-45) mask; both directions averaged."""
    small = math.log(1e-45)

    def one_way(a, b):
        cross = a @ b.T
        positive = -torch.diag(cross) / temperature
        if sigma is not None:
            positive = positive * (2 - a.shape[0] * torch.softmax((a * b).sum(1) / sigma, 0))
        negative = torch.cat([a @ a.T, cross], dim=1) / temperature
        mask = torch.eye(a.shape[0], dtype=a.dtype).repeat(1, 2)
        return (positive + torch.logsumexp(negative + mask * small, dim=1)).mean()

    a, b = F.normalize(z1.double(), dim=1), F.normalize(z2.double(), dim=1)
    return (one_way(a, b) + one_way(b, a)) / 2


def _leaves(shapes, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g).to(dtype).requires_grad_() for s in shapes]


def _assert_value_and_grad(ours, ref, inputs, rtol=1e-4, atol=1e-6):
    torch.testing.assert_close(ours.double(), ref.double(), rtol=1e-5, atol=1e-5)
    for a, b in zip(
        torch.autograd.grad(ours, inputs, retain_graph=True),
        torch.autograd.grad(ref, inputs, retain_graph=True),
        strict=True,
    ):
        torch.testing.assert_close(a.double(), b.double(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("n", [2, 5, 11])
@pytest.mark.parametrize("temperature", [0.05, 0.5, 2.0])
@pytest.mark.parametrize("weight_sigma", [None, 0.5, 2.0])
def test_matches_reference_value_and_gradient(n, temperature, weight_sigma):
    z1, z2 = _leaves([(n, 6), (n, 6)], seed=n)
    ours = dcl_loss(z1, z2, temperature=temperature, weight_sigma=weight_sigma)
    _assert_value_and_grad(ours, reference_dcl(z1, z2, temperature, weight_sigma), [z1, z2])


@pytest.mark.parametrize("weight_sigma", [None, 0.5])
def test_matches_the_reference_code(weight_sigma):
    z1, z2 = _leaves([(8, 5), (8, 5)], seed=21)
    ours = dcl_loss(z1, z2, temperature=0.1, weight_sigma=weight_sigma)
    _assert_value_and_grad(ours, authors_dcl(z1, z2, 0.1, weight_sigma), [z1, z2])


def test_weight_is_not_detached():
    # As in the reference code, the DCLW weight carries a gradient: same value as with a
    # detached weight, different gradient.
    z1, z2 = _leaves([(6, 4), (6, 4)], seed=2)
    ours = dcl_loss(z1, z2, temperature=0.2, weight_sigma=0.5)
    detached = reference_dcl(z1, z2, 0.2, 0.5, detach_weight=True)
    torch.testing.assert_close(ours.double(), detached, rtol=1e-5, atol=1e-6)
    (g_ours,) = torch.autograd.grad(ours, z1)
    (g_detached,) = torch.autograd.grad(detached, z1)
    assert not torch.allclose(g_ours.double(), g_detached.double(), rtol=1e-3, atol=1e-5)


def test_symmetric_in_its_arguments():
    z1, z2 = _leaves([(9, 4), (9, 4)], seed=5)
    for sigma in (None, 0.5):
        torch.testing.assert_close(
            dcl_loss(z1, z2, temperature=0.2, weight_sigma=sigma),
            dcl_loss(z2, z1, temperature=0.2, weight_sigma=sigma),
        )


def test_differs_from_nt_xent_by_the_positive_in_the_denominator():
    z1, z2 = _leaves([(7, 4), (7, 4)], seed=6)
    assert dcl_loss(z1, z2, temperature=0.3) < nt_xent(z1, z2, temperature=0.3)


@pytest.mark.parametrize("n", [2, 8])
@pytest.mark.parametrize("temperature", [0.1, 1.0])
@pytest.mark.parametrize("weight_sigma", [None, 0.5])
def test_closed_form_orthonormal_identical_views(n, temperature, weight_sigma):
    # Positive similarity 1, every negative 0 (2N - 2 of them); DCLW's weights are all 1.
    eye = torch.eye(n, n + 3)
    expected = -1 / temperature + math.log(2 * n - 2)
    torch.testing.assert_close(
        dcl_loss(eye, eye.clone(), temperature=temperature, weight_sigma=weight_sigma),
        torch.tensor(expected),
    )


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("weight_sigma", [None, 0.5])
def test_low_precision_inputs_are_safe_and_close(dtype, weight_sigma):
    z1, z2 = [(v * 40).detach().requires_grad_() for v in _leaves([(32, 16)] * 2, 9, dtype)]
    ours = dcl_loss(z1, z2, temperature=0.05, weight_sigma=weight_sigma)
    assert ours.dtype == torch.float32 and torch.isfinite(ours)
    r1, r2 = (v.detach().double().requires_grad_() for v in (z1, z2))
    ref = reference_dcl(r1, r2, 0.05, weight_sigma)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=1e-4)
    for a, b in zip(
        torch.autograd.grad(ours, [z1, z2]), torch.autograd.grad(ref, [r1, r2]), strict=True
    ):
        assert a.dtype == dtype and torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b.double(), rtol=2e-2, atol=1e-4)


def test_bf16_autocast_keeps_float32_logits():
    z1, z2 = _leaves([(16, 8), (16, 8)], seed=3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = dcl_loss(z1, z2, weight_sigma=0.5)
    torch.testing.assert_close(loss, dcl_loss(z1, z2, weight_sigma=0.5), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dcl_loss(torch.randn(4, 3), torch.randn(5, 3)), "z2"),
        (lambda: dcl_loss(torch.randn(4), torch.randn(4)), "z1 must be a 2-D"),
        (lambda: dcl_loss(torch.randn(1, 3), torch.randn(1, 3)), "at least 2"),
        (lambda: dcl_loss(torch.randn(4, 3), torch.randn(4, 3), temperature=0), "temperature"),
        (lambda: dcl_loss(torch.randn(4, 3), torch.randn(4, 3), weight_sigma=0.0), "weight_sigma"),
        (lambda: dcl_loss(torch.randn(4, 3), torch.randn(4, 3), weight_sigma=-1), "weight_sigma"),
        (lambda: dcl_loss(torch.randn(4, 3), torch.randn(4, 3), gather=True), "gather"),
        (lambda: DCLLoss(temperature=-0.1), "temperature"),
        (lambda: DCLLoss(weight_sigma=0), "weight_sigma"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_module_equals_function():
    z1, z2 = _leaves([(6, 4), (6, 4)], seed=8)
    torch.testing.assert_close(
        DCLLoss(0.2, weight_sigma=0.5)(z1, z2),
        dcl_loss(z1, z2, temperature=0.2, weight_sigma=0.5),
    )
