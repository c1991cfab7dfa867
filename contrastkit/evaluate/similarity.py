"""Scored-pair similarity: how well embedding cosine ranks pairs like human scores do."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch.nn.functional as F
from torch import Tensor

__all__ = ["similarity_correlation"]


def similarity_correlation(a: Tensor, b: Tensor, scores: Sequence[float]) -> dict[str, float]:
    """Spearman and Pearson correlation of cos(a_i, b_i) with the given scores (STS).

    Args:
        a: (N, D) embeddings of the first texts.
        b: (N, D) embeddings of the second texts.
        scores: N gold similarity scores.

    Returns:
        {"spearman": rho, "pearson": r, "n": N}; rho and r are NaN when every cosine is
        the same (a correlation with a constant is undefined, e.g. TF-IDF on word pairs
        that share no word), which eval.json records as null with the reason.
    """
    from scipy.stats import pearsonr, spearmanr

    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != len(scores):
        raise ValueError(
            f"a and b must be (N, D) with N = len(scores) = {len(scores)}; got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    if len(scores) < 3:
        raise ValueError(f"need at least 3 scored pairs, got {len(scores)}")
    cos = F.cosine_similarity(a.double(), b.double(), dim=1).numpy()
    if np.ptp(cos) == 0:
        return {"spearman": float("nan"), "pearson": float("nan"), "n": len(scores)}
    return {
        "spearman": float(spearmanr(cos, scores).statistic),
        "pearson": float(pearsonr(cos, scores).statistic),
        "n": len(scores),
    }
