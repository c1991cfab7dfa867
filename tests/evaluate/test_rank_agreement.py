"""Spearman's rho and Kendall's tau-b against plain definitions (loops over pairs)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from contrastkit.evaluate.rank_agreement import average_ranks, kendall_tau, spearman_rho


def _ranks(x: list[float]) -> list[float]:
    order = sorted(range(len(x)), key=lambda i: x[i])
    ranks = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for p in range(i, j + 1):
            ranks[order[p]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _pearson(a: list[float], b: list[float]) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb)


def _tau_b(a: list[float], b: list[float]) -> float:
    con = dis = ta = tb = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        da, db = a[i] - a[j], b[i] - b[j]
        if da == 0 and db == 0:
            continue
        if da == 0:
            ta += 1
        elif db == 0:
            tb += 1
        elif da * db > 0:
            con += 1
        else:
            dis += 1
    return (con - dis) / math.sqrt((con + dis + ta) * (con + dis + tb))


@pytest.mark.parametrize("seed", range(6))
def test_match_the_plain_definitions_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    a = rng.integers(0, 5, n).astype(float).tolist()  # ties on purpose
    b = (np.asarray(a) + rng.normal(0, 2, n)).round(0).tolist()
    if len(set(a)) < 2 or len(set(b)) < 2:
        return
    assert average_ranks(a).tolist() == _ranks(a)
    assert spearman_rho(a, b) == pytest.approx(_pearson(_ranks(a), _ranks(b)))
    assert kendall_tau(a, b) == pytest.approx(_tau_b(a, b))


def test_extremes_and_undefined_cases() -> None:
    a = [0.1, 0.5, 0.3, 0.9]
    assert spearman_rho(a, [2 * x for x in a]) == pytest.approx(1.0)
    assert kendall_tau(a, [-x for x in a]) == pytest.approx(-1.0)
    assert spearman_rho([1, 2], [1, 2]) is None  # fewer than 3
    assert kendall_tau([1, 1, 1], [1, 2, 3]) is None  # a constant side
    with pytest.raises(ValueError, match="one length"):
        spearman_rho([1, 2, 3], [1, 2])
