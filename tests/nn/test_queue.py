"""FeatureQueue: ring-buffer order, fill count, and state in state_dict."""

from __future__ import annotations

import pytest
import torch

from contrastkit.nn.queue import FeatureQueue


def test_push_wraps_around_and_counts():
    q = FeatureQueue(5, 2, normalize_init=False)
    assert q.filled == 0 and q.features().shape == (0, 2)
    q.push(torch.tensor([[1.0, 1], [2, 2], [3, 3]]))
    assert q.filled == 3
    assert q.features()[:, 0].tolist() == [1, 2, 3]
    q.push(torch.tensor([[4.0, 4], [5, 5], [6, 6]]))
    assert q.filled == 5
    assert q.rows[:, 0].tolist() == [6, 2, 3, 4, 5]  # 6 overwrote the oldest row
    assert int(q.ptr) == 1


def test_moco_style_init_is_unit_vectors():
    q = FeatureQueue(16, 8)
    torch.testing.assert_close(q.rows.norm(dim=1), torch.ones(16))


def test_state_dict_round_trip():
    a = FeatureQueue(4, 3)
    a.push(torch.randn(3, 3))
    b = FeatureQueue(4, 3)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.rows, b.rows) and int(b.ptr) == 3 and b.filled == 3
    assert set(a.state_dict()) == {"rows", "ptr", "count"}


def test_bad_pushes_are_rejected():
    q = FeatureQueue(4, 3)
    with pytest.raises(ValueError, match="dim 3"):
        q.push(torch.randn(2, 5))
    with pytest.raises(ValueError, match="size 4"):
        q.push(torch.randn(5, 3))
