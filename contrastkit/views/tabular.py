"""SCARF views of table rows: random feature corruption from the empirical marginals."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ScarfViews", "scarf_corrupt"]


def scarf_corrupt(
    x: Tensor,
    table: Tensor,
    corruption_rate: float,
    generator: torch.Generator,
    *,
    exact_count: bool = False,
) -> tuple[Tensor, Tensor]:
    """Replace a random subset of each row's features by the same feature of random rows.

    Args:
        x: (B, F) rows to corrupt.
        table: (N, F) rows the replacement values are drawn from (the training table, so
            each feature is drawn from its empirical marginal distribution).
        corruption_rate: chance that a feature is replaced, in [0, 1].
        generator: the source of all randomness (on x's device).
        exact_count: corrupt exactly round(rate * F) features per row, a uniformly random
            subset (the SCARF authors' code), instead of an independent Bernoulli per
            feature.

    Returns:
        (view (B, F) with x's dtype, mask (B, F) bool of the replaced features).

    Example:
        >>> table = torch.randn(100, 6)
        >>> view, mask = scarf_corrupt(table[:8], table, 0.6, torch.Generator())
        >>> view.shape, mask.shape
        (torch.Size([8, 6]), torch.Size([8, 6]))
    """
    if x.dim() != 2 or table.dim() != 2 or x.shape[1] != table.shape[1]:
        raise ValueError(
            f"x (B, F) and table (N, F) must share F, got {tuple(x.shape)} and {tuple(table.shape)}"
        )
    b, f = x.shape
    draws = torch.rand(b, f, generator=generator, device=x.device)
    if exact_count:
        k = round(corruption_rate * f)
        mask = draws.argsort(dim=1).argsort(dim=1) < k  # rank < k: a random k-subset per row
    else:
        mask = draws < corruption_rate
    rows = torch.randint(table.shape[0], (b, f), generator=generator, device=x.device)
    replacement = torch.gather(table.to(device=x.device, dtype=x.dtype), 0, rows)
    return torch.where(mask, replacement, x), mask


class ScarfViews:
    """SCARF [1] views: corrupted copies of table rows, batched and per-sample random.

    For each row and view, a random subset of the features (each with probability
    `corruption_rate`) takes the value of that feature in a uniformly random row of the
    training table. Categorical codes are swapped like numbers, so a corrupted categorical
    feature holds a category that occurs in that column.

    Args:
        table: (N, F) packed training rows (`TableSchema.transform`), the marginals.
        corruption_rate: share of features replaced; 0.6 is the paper's default ("we
            find a corruption rate of 0.6 works well across datasets", [1] sec. 4).
        anchor: the first view is the uncorrupted row, as in the paper (the anchor is the
            original example, the positive its corrupted copy); False corrupts both views.
        n_views: number of views (>= 2).
        exact_count: corrupt exactly round(rate * F) features per row (the authors' code)
            instead of a Bernoulli mask.

    Shapes: `views(x (B, F), generator)` -> n_views tensors (B, F) with x's dtype.

    Example:
        >>> views = ScarfViews(train_x, corruption_rate=0.6)
        >>> source = TensorBatches(train_x, views)

    [1] Bahri, Jiang, Tay and Metzler, "SCARF: Self-Supervised Contrastive Learning using
        Random Feature Corruption", ICLR 2022.
    """

    def __init__(
        self,
        table: Tensor,
        corruption_rate: float = 0.6,
        *,
        anchor: bool = True,
        n_views: int = 2,
        exact_count: bool = False,
    ) -> None:
        if table.dim() != 2 or table.shape[0] < 2:
            raise ValueError(f"table must be (N, F) with N >= 2, got {tuple(table.shape)}")
        if not 0.0 <= corruption_rate <= 1.0:
            raise ValueError(f"corruption_rate must be in [0, 1], got {corruption_rate}")
        if n_views < 2:
            raise ValueError(f"n_views must be >= 2, got {n_views}")
        self.table = table
        self.corruption_rate = corruption_rate
        self.anchor = anchor
        self.n_views = n_views
        self.exact_count = exact_count

    def corrupt(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """One corrupted view (B, F) of rows x (B, F)."""
        view, _ = scarf_corrupt(
            x, self.table, self.corruption_rate, generator, exact_count=self.exact_count
        )
        return view

    def __call__(self, x: Tensor, generator: torch.Generator) -> list[Tensor]:
        views = [x.clone()] if self.anchor else []
        views += [self.corrupt(x, generator) for _ in range(self.n_views - len(views))]
        return views
