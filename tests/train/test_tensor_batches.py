"""TensorBatches: rows, labels and views of a batch; bad shapes named."""

from __future__ import annotations

import pytest
import torch

from contrastkit.train.tensor_batches import TensorBatches


def _noisy(x: torch.Tensor, g: torch.Generator) -> list[torch.Tensor]:
    return [x + torch.randn(x.shape, generator=g) for _ in range(2)]


def test_batch_holds_the_indexed_rows_labels_and_seeded_views() -> None:
    items = torch.arange(20.0).view(10, 2)
    source = TensorBatches(items, _noisy, torch.arange(10) % 3)
    idx = torch.tensor([4, 1, 7])
    a = source.batch(idx, torch.Generator().manual_seed(0))
    b = source.batch(idx, torch.Generator().manual_seed(0))
    assert torch.equal(a.labels, torch.tensor([1, 1, 1]))
    assert torch.equal(a.index, idx)
    assert all(torch.equal(u, v) for u, v in zip(a.views, b.views, strict=True))
    assert not torch.equal(a.views[0], a.views[1])
    assert torch.allclose(a.views[0].mean(), items[idx].mean(), atol=1.5)
    order = source.order(3, 4)
    assert sorted(order.tolist()) == list(range(10))
    assert torch.equal(order, source.order(3, 4))


def test_bad_shapes_are_named() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        TensorBatches(torch.empty(0, 3), _noisy)
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        TensorBatches(torch.zeros(4, 3), _noisy, torch.zeros(5, dtype=torch.long))
