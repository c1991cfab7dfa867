"""Tiled InfoNCE: the same value and gradients (inputs and a learnable temperature) as the
plain computation, for several sizes, tiles that do not divide the batch, extra negatives,
more than two views and bf16 inputs; automatic tiling above the size threshold."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import info_nce, nt_xent
from contrastkit.losses.tiled import tiled_cross_entropy


def _grads(fn, *tensors):
    tensors = [t.detach().clone().requires_grad_(True) for t in tensors]
    loss = fn(*tensors)
    loss.backward()
    return loss.detach(), [t.grad for t in tensors]


def _loop_nt_xent(za: torch.Tensor, zb: torch.Tensor, t: float) -> torch.Tensor:
    z = F.normalize(torch.cat([za, zb]).double(), dim=1)
    n = za.shape[0]
    terms = []
    for i in range(2 * n):
        others = [j for j in range(2 * n) if j != i]
        logits = torch.stack([z[i] @ z[j] / t for j in others])
        pos = others.index((i + n) % (2 * n))
        terms.append(torch.logsumexp(logits, 0) - logits[pos])
    return torch.stack(terms).mean()


@pytest.mark.parametrize("log_sum_exp", ["fixed shift", "online max"])
@pytest.mark.parametrize(("n", "dim", "tile"), [(5, 3, 2), (17, 8, 4), (64, 16, 7), (33, 32, 100)])
def test_tiled_nt_xent_equals_plain_in_value_and_gradient(
    n: int, dim: int, tile: int, log_sum_exp: str, monkeypatch
) -> None:
    if log_sum_exp == "online max":  # the path taken when logits may span a wide range
        monkeypatch.setattr("contrastkit.losses.tiled._MAX_FIXED_SHIFT_RANGE", 0.0)
    g = torch.Generator().manual_seed(n)
    za, zb = torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g)
    plain, plain_grads = _grads(lambda a, b: nt_xent(a, b, temperature=0.2, tile=0), za, zb)
    tiled, tiled_grads = _grads(lambda a, b: nt_xent(a, b, temperature=0.2, tile=tile), za, zb)
    torch.testing.assert_close(tiled, plain, rtol=1e-5, atol=1e-6)
    for got, want in zip(tiled_grads, plain_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    assert float(plain) == pytest.approx(float(_loop_nt_xent(za, zb, 0.2)), rel=1e-5)


def test_tiled_with_three_views_negatives_and_learnable_temperature() -> None:
    g = torch.Generator().manual_seed(0)
    views = [torch.randn(11, 6, generator=g) for _ in range(3)]
    negs = torch.randn(9, 6, generator=g)
    temp = torch.tensor(0.3)

    def loss(tile):
        def fn(a, b, c, m, t):
            return nt_xent(a, b, c, temperature=t, negatives=m, tile=tile)

        return fn

    plain, want = _grads(loss(0), *views, negs, temp)
    tiled, got = _grads(loss(4), *views, negs, temp)
    torch.testing.assert_close(tiled, plain, rtol=1e-5, atol=1e-6)
    for g_tiled, g_plain in zip(got, want, strict=True):
        torch.testing.assert_close(g_tiled, g_plain, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("symmetric", [False, True])
def test_tiled_info_nce_equals_plain(symmetric: bool) -> None:
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(23, 8, generator=g), torch.randn(23, 8, generator=g)
    negs = torch.randn(5, 8, generator=g)

    def loss(tile):
        return lambda a, b, m: info_nce(
            a, b, temperature=0.07, negatives=m, symmetric=symmetric, tile=tile
        )

    plain, want = _grads(loss(0), q, k, negs)
    tiled, got = _grads(loss(6), q, k, negs)
    torch.testing.assert_close(tiled, plain, rtol=1e-5, atol=1e-6)
    for g_tiled, g_plain in zip(got, want, strict=True):
        torch.testing.assert_close(g_tiled, g_plain, rtol=1e-4, atol=1e-6)


def test_tiled_is_stable_at_tiny_temperature_and_bf16_inputs_stay_close() -> None:
    g = torch.Generator().manual_seed(2)
    za, zb = torch.randn(40, 16, generator=g), torch.randn(40, 16, generator=g)
    plain = nt_xent(za, zb, temperature=0.005, tile=0)
    tiled = nt_xent(za, zb, temperature=0.005, tile=8)
    assert torch.isfinite(tiled)
    torch.testing.assert_close(tiled, plain, rtol=1e-5, atol=1e-5)
    low = nt_xent(za.bfloat16(), zb.bfloat16(), temperature=0.1, tile=8)
    torch.testing.assert_close(low, nt_xent(za, zb, temperature=0.1, tile=0), rtol=2e-2, atol=2e-2)


def test_automatic_tiling_above_the_threshold(monkeypatch) -> None:
    calls = []
    real = tiled_cross_entropy

    def spy(*args, **kwargs):
        calls.append(args[0].shape[0])
        return real(*args, **kwargs)

    import sys

    info_nce_module = sys.modules["contrastkit.losses.info_nce"]  # the name is shadowed

    monkeypatch.setattr(info_nce_module, "tiled_cross_entropy", spy)
    monkeypatch.setattr(info_nce_module, "AUTO_TILE_ELEMENTS", 30 * 30)
    za, zb = torch.randn(10, 4), torch.randn(10, 4)
    nt_xent(za, zb)  # 20 x 20 entries: plain
    assert calls == []
    za, zb = torch.randn(20, 4), torch.randn(20, 4)
    nt_xent(za, zb)  # 40 x 40 entries: tiled
    assert calls == [40]


def test_bad_tile_is_rejected() -> None:
    a = torch.randn(3, 2)
    with pytest.raises(ValueError, match="tile"):
        tiled_cross_entropy(a, a, torch.zeros(3, 1, dtype=torch.long), None, 0.1, tile=-1)
