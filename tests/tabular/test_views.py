"""SCARF views: exact masked replacement from the column's values, per-sample, seeded."""

from __future__ import annotations

import pytest
import torch

from contrastkit.views.tabular import ScarfViews, scarf_corrupt


def _table(n: int = 200, f: int = 7) -> torch.Tensor:
    # distinct values per column (column j holds 1000 * j + row), so every value names its column
    return (torch.arange(n)[:, None] + 1000 * torch.arange(f)[None, :]).float()


@pytest.mark.parametrize("exact_count", [False, True])
def test_only_masked_features_change_and_take_values_of_their_own_column(exact_count: bool) -> None:
    table = _table()
    x = table[:64]
    view, mask = scarf_corrupt(
        x, table, 0.6, torch.Generator().manual_seed(0), exact_count=exact_count
    )
    assert view.shape == x.shape and view.dtype == x.dtype
    assert torch.equal(view[~mask], x[~mask])
    column = torch.arange(7).expand(64, 7)
    assert torch.equal((view // 1000).long()[mask], column[mask])  # drawn from the same column
    assert ((view % 1000) < 200).all()  # ... and from a row of the table
    if exact_count:
        assert (mask.sum(1) == round(0.6 * 7)).all()
    else:
        assert abs(mask.float().mean().item() - 0.6) < 0.08
    assert (view[mask] != x[mask]).float().mean() > 0.9  # a random other row, rarely itself


def test_views_keep_shape_and_dtype_differ_per_sample_and_repeat_under_a_seed() -> None:
    table = torch.randn(300, 12, dtype=torch.float64)
    views = ScarfViews(table, 0.5)
    x = table[:32]
    a1, b1 = views(x, torch.Generator().manual_seed(3))
    _, b2 = views(x, torch.Generator().manual_seed(3))
    _, b3 = views(x, torch.Generator().manual_seed(4))
    assert torch.equal(a1, x)  # the anchor view is the row itself (paper)
    assert b1.shape == x.shape and b1.dtype == torch.float64
    assert torch.equal(b1, b2) and not torch.equal(b1, b3)
    changed = b1 != x
    assert len({tuple(row.tolist()) for row in changed}) > 16  # masks differ between rows
    both = ScarfViews(table, 0.5, anchor=False, n_views=3)(x, torch.Generator().manual_seed(3))
    assert len(both) == 3 and not torch.equal(both[0], x) and not torch.equal(both[0], both[1])


def test_categorical_codes_stay_valid_codes() -> None:
    codes = torch.randint(2, 6, (100, 3)).float()
    table = torch.cat([torch.randn(100, 2), codes], dim=1)
    view = ScarfViews(table, 0.9).corrupt(table[:50], torch.Generator().manual_seed(0))
    for j in range(3):
        assert set(view[:, 2 + j].tolist()) <= set(codes[:, j].tolist())


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="corruption_rate must be in"):
        ScarfViews(torch.randn(10, 3), 1.5)
    with pytest.raises(ValueError, match="n_views must be >= 2"):
        ScarfViews(torch.randn(10, 3), n_views=1)
    with pytest.raises(ValueError, match="must share F"):
        scarf_corrupt(torch.randn(4, 3), torch.randn(10, 4), 0.5, torch.Generator())
