"""Collapse monitoring during training: std, effective rank, alignment, uniformity."""

from __future__ import annotations

import warnings

from torch import Tensor

from contrastkit.evaluate.geometry import alignment, effective_rank, normalized_std, uniformity


class CollapseWarning(UserWarning):
    """The representations of a run have (nearly) collapsed."""


def collapse_stats(h1: Tensor, h2: Tensor) -> dict[str, float]:
    """Indicators on the representations (N, D) of two views of the same N items.

    Returns:
        rep_std: mean per-dimension std of the L2-normalised h1, times sqrt(D)
            (about 1 when spread over the sphere, 0 when collapsed).
        rep_rank: effective rank of h1 (1 for a line, about 0 for a point).
        align: alignment of (h1, h2), mean squared distance of normalised positives.
        uniform: uniformity of h1, log mean exp(-2 d^2) over pairs (0 when collapsed).
    """
    return {
        "rep_std": normalized_std(h1),
        "rep_rank": effective_rank(h1),
        "align": alignment(h1, h2),
        "uniform": uniformity(h1),
    }


class CollapseWatch:
    """Decides from `collapse_stats` whether a run has collapsed, and warns once.

    A check counts as collapsed when rep_std < `min_std` or rep_rank < `min_rank`; the
    run is reported collapsed after `patience` such checks in a row (the first steps of a
    run can look degenerate for a moment).

    Args:
        min_std: threshold on rep_std (a healthy run is well above 0.1).
        min_rank: threshold on the effective rank.
        patience: consecutive collapsed checks before warning.
    """

    def __init__(self, min_std: float = 0.02, min_rank: float = 1.5, patience: int = 3) -> None:
        self.min_std, self.min_rank, self.patience = min_std, min_rank, patience
        self.streak = 0
        self.collapsed_at: int | None = None

    def update(self, stats: dict[str, float], step: int) -> bool:
        """Record one check at `step`; True when the run counts as collapsed now."""
        bad = stats["rep_std"] < self.min_std or stats["rep_rank"] < self.min_rank
        self.streak = self.streak + 1 if bad else 0
        if self.streak >= self.patience and self.collapsed_at is None:
            self.collapsed_at = step
            warnings.warn(
                f"representations collapsed at step {step}: rep_std={stats['rep_std']:.4f} "
                f"(threshold {self.min_std}), effective rank={stats['rep_rank']:.2f} "
                f"(threshold {self.min_rank}); try a lower learning rate, a larger batch or "
                "another method",
                CollapseWarning,
                stacklevel=2,
            )
        return self.streak >= self.patience
