"""EMA copies and the cosine momentum schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from contrastkit.nn.momentum import cosine_momentum, ema_update, momentum_copy


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))


def test_momentum_copy_is_equal_frozen_and_independent():
    online = _net()
    target = momentum_copy(online)
    for (name, a), b in zip(online.named_parameters(), target.parameters(), strict=True):
        assert torch.equal(a, b), name
        assert not b.requires_grad
        assert a.data_ptr() != b.data_ptr()


def test_ema_update_matches_the_formula_and_leaves_buffers_alone():
    torch.manual_seed(0)
    online, target = _net(), _net()
    target[1].running_mean.fill_(7.0)
    before = [p.clone() for p in target.parameters()]
    ema_update(target, online, 0.9)
    for t0, t1, o in zip(before, target.parameters(), online.parameters(), strict=True):
        torch.testing.assert_close(t1, 0.9 * t0 + 0.1 * o)
    assert torch.all(target[1].running_mean == 7.0)


@pytest.mark.parametrize("m", [0.0, 1.0])
def test_ema_update_edge_momenta(m):
    online, target = _net(), _net()
    expected = [p.clone() for p in (target if m == 1.0 else online).parameters()]
    ema_update(target, online, m)
    for p, e in zip(target.parameters(), expected, strict=True):
        torch.testing.assert_close(p, e)


def test_ema_update_rejects_bad_momentum():
    with pytest.raises(ValueError, match="momentum"):
        ema_update(_net(), _net(), 1.5)


def test_cosine_momentum_schedule():
    assert cosine_momentum(0.0, 0.99) == pytest.approx(0.99)
    assert cosine_momentum(1.0, 0.99) == pytest.approx(1.0)
    assert cosine_momentum(0.5, 0.99) == pytest.approx(0.995)
    base, p = 0.996, 0.3
    assert cosine_momentum(p, base) == pytest.approx(
        1 - (1 - base) * (math.cos(math.pi * p) + 1) / 2
    )
    values = [cosine_momentum(i / 10, 0.9) for i in range(11)]
    assert values == sorted(values)


def test_ema_update_of_a_module_without_parameters_is_a_no_op() -> None:
    """An identity projection head (model.proj_dim=0) has no parameters to average."""
    ema_update(nn.Identity(), nn.Identity(), 0.99)
