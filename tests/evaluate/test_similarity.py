"""Scored-pair similarity against scipy's correlations computed by hand here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr, spearmanr

from contrastkit.evaluate.similarity import similarity_correlation


def test_matches_scipy_on_cosines():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(40, 5, generator=g), torch.randn(40, 5, generator=g)
    scores = torch.rand(40, generator=g).tolist()
    cos = [float(torch.dot(x, y) / (x.norm() * y.norm())) for x, y in zip(a, b, strict=True)]
    out = similarity_correlation(a, b, scores)
    assert out["spearman"] == pytest.approx(spearmanr(cos, scores).statistic)
    assert out["pearson"] == pytest.approx(pearsonr(cos, scores).statistic)


def test_perfect_order_gives_one():
    angles = torch.linspace(0, 1.5, 10)
    a = torch.tensor([[1.0, 0.0]]).repeat(10, 1)
    b = torch.stack([angles.cos(), angles.sin()], 1)
    out = similarity_correlation(a, b, list(np.linspace(5, 0, 10)))
    assert out["spearman"] == pytest.approx(1.0)


def test_constant_cosines_give_nan_without_a_warning():
    """TF-IDF of word pairs that share no word: every cosine 0, no correlation defined."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = similarity_correlation(torch.eye(6)[:3], torch.eye(6)[3:], [1.0, 2.0, 3.0])
    assert np.isnan(out["spearman"]) and np.isnan(out["pearson"]) and out["n"] == 3


def test_shape_errors():
    with pytest.raises(ValueError, match="N = len"):
        similarity_correlation(torch.randn(4, 2), torch.randn(4, 2), [1.0, 2.0])
