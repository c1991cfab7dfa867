"""MoCo's queue InfoNCE against a slow reference (value and gradient)."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.losses.info_nce import queue_info_nce


def _reference(q, k, queue, t):
    total = 0.0
    for i in range(q.shape[0]):
        qi = q[i] / q[i].norm()
        ki = k[i] / k[i].norm()
        pos = torch.exp(qi @ ki / t)
        neg = sum(torch.exp(qi @ queue[j] / t) for j in range(queue.shape[0]))
        total = total - torch.log(pos / (pos + neg))
    return total / q.shape[0]


@pytest.mark.parametrize(("n", "k", "d", "t"), [(4, 7, 5, 0.2), (9, 3, 8, 0.07), (1, 1, 2, 1.0)])
def test_matches_reference(n, k, d, t):
    g = torch.Generator().manual_seed(n * 100 + k)
    q = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    key = torch.randn(n, d, generator=g, dtype=torch.float64)
    queue = torch.nn.functional.normalize(torch.randn(k, d, generator=g, dtype=torch.float64))
    got = queue_info_nce(q, key, queue, temperature=t)
    want = _reference(q, key, queue, t)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-6)
    (g_got,) = torch.autograd.grad(got, q)
    (g_want,) = torch.autograd.grad(want, q)
    torch.testing.assert_close(g_got.double(), g_want, rtol=1e-4, atol=1e-6)


def test_closed_form_orthogonal_queue():
    # q = k, queue orthogonal to q: loss = log(1 + K e^0 / e^{1/t})
    q = torch.tensor([[1.0, 0, 0]])
    queue = torch.tensor([[0.0, 1, 0], [0, 0, 1]])
    t = 0.5
    expected = math.log(1 + 2 * math.exp(-1 / t))
    assert queue_info_nce(q, q, queue, temperature=t).item() == pytest.approx(expected, rel=1e-6)


def test_bf16_inputs_are_finite_and_close():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(16, 32, generator=g), torch.randn(16, 32, generator=g)
    queue = torch.nn.functional.normalize(torch.randn(64, 32, generator=g))
    full = queue_info_nce(q, k, queue, temperature=0.1)
    half = queue_info_nce(q.bfloat16(), k.bfloat16(), queue.bfloat16(), temperature=0.1)
    assert half.dtype == torch.float32 and torch.isfinite(half)
    assert half.item() == pytest.approx(full.item(), rel=0.03)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="queue"):
        queue_info_nce(torch.randn(2, 3), torch.randn(2, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match="temperature"):
        queue_info_nce(torch.randn(2, 3), torch.randn(2, 3), torch.randn(4, 3), temperature=0)
