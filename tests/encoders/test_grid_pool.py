"""GridAvgPool equals adaptive average pooling (value and gradient) at every map size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.encoders.vision import GridAvgPool


@pytest.mark.parametrize(("side", "size"), [(3, 2), (5, 4), (2, 1), (4, 2), (7, 2), (2, 2)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_grid_pool_matches_adaptive_pooling(side, size, channels_last):
    torch.manual_seed(0)
    x = torch.randn(4, 6, side, side, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    got, want = GridAvgPool(size)(a), F.adaptive_avg_pool2d(b, size)
    assert got.shape == want.shape == (4, 6, size, size)
    torch.testing.assert_close(got, want)
    g = torch.randn_like(want)
    got.backward(g)
    want.backward(g)
    torch.testing.assert_close(a.grad, b.grad)


@pytest.mark.parametrize("channels_last", [False, True])
def test_gradient_keeps_the_input_memory_format(channels_last):
    """A contiguous gradient into a channels-last ReLU backward is 30x slower on CPU."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(4, 6, 3, 3).contiguous(memory_format=fmt).requires_grad_()
    GridAvgPool(2)(x).sum().backward()
    assert x.grad.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(
        x.grad,
        torch.full_like(x, 0.25)
        * torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]),
    )
