"""Geometry of an embedding space: collapse indicators."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def effective_rank(z: Tensor) -> float:
    """Effective rank [1] of embeddings (N, D): exp of the entropy of the normalised singular
    values of the centred matrix. D for isotropic embeddings, 1 for a line, ~0 for a point.

    [1] Roy and Vetterli, "The effective rank: a measure of effective dimensionality",
        EUSIPCO 2007.
    """
    z = z.detach().double()
    s = torch.linalg.svdvals(z - z.mean(dim=0, keepdim=True))
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


@torch.no_grad()
def normalized_std(z: Tensor) -> float:
    """Mean per-dimension std of L2-normalised embeddings (N, D), times sqrt(D): about 1 when
    spread over the sphere, 0 when collapsed to a point (SimSiam, sec. 4)."""
    z = F.normalize(z.detach().float(), dim=1)
    return float(z.std(dim=0).mean() * z.shape[1] ** 0.5)
