"""Rank agreement of two scorings of the same candidates: Spearman's rho and Kendall's tau-b.

`tune-views` uses them to say how well a label-free criterion (RankMe) orders the trials
the way labelled validation kNN does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["average_ranks", "kendall_tau", "spearman_rho"]


def average_ranks(x: Sequence[float]) -> np.ndarray:
    """Ranks 1..n of `x` (n,), ties sharing the mean of their ranks."""
    x = np.asarray(x, dtype=np.float64)
    below = (x[None, :] < x[:, None]).sum(axis=1)
    equal = (x[None, :] == x[:, None]).sum(axis=1)
    return below + (equal + 1) / 2.0


def spearman_rho(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation of `a` and `b` (n,): the Pearson correlation of their
    average ranks. None for fewer than 3 values or a constant side (undefined).

    Raises:
        ValueError: `a` and `b` differ in length.
    """
    ra, rb = _paired(a, b)
    if ra is None:
        return None
    ra, rb = average_ranks(ra), average_ranks(rb)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return None if denom == 0 else float((ra * rb).sum() / denom)


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Kendall's tau-b of `a` and `b` (n,): (concordant - discordant) pairs over the
    geometric mean of the pairs untied on each side [1]. None for fewer than 3 values or
    a constant side.

    [1] Kendall, "The treatment of ties in ranking problems", Biometrika 1945.

    Raises:
        ValueError: `a` and `b` differ in length.
    """
    xa, xb = _paired(a, b)
    if xa is None:
        return None
    sa = np.sign(xa[:, None] - xa[None, :])
    sb = np.sign(xb[:, None] - xb[None, :])
    upper = np.triu(np.ones_like(sa, dtype=bool), k=1)
    untied = np.sqrt(np.abs(sa)[upper].sum() * np.abs(sb)[upper].sum())
    return None if untied == 0 else float((sa * sb)[upper].sum() / untied)


def _paired(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray | None, np.ndarray]:
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.shape != xb.shape or xa.ndim != 1:
        raise ValueError(
            f"a and b must be two 1-D sequences of one length, got {xa.shape}, {xb.shape}"
        )
    if len(xa) < 3:
        return None, xb
    return xa, xb
