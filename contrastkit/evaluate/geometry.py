"""Geometry of an embedding space: collapse indicators."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.no_grad()
def effective_rank(z: Tensor, *, centred: bool = True) -> float:
    """Effective rank [1] of embeddings (N, D): exp of the entropy of the normalised singular
    values of the centred matrix. D for isotropic embeddings, 1 for a line, ~0 for a point.

    `centred=False` is RankMe [2], the label-free quality criterion `tune-views` uses: the
    matrix as it is, so embeddings collapsed near one point (with any jitter) score about 1,
    the lowest a non-zero matrix can.

    [1] Roy and Vetterli, "The effective rank: a measure of effective dimensionality",
        EUSIPCO 2007.
    [2] Garrido, Balestriero, Najman and LeCun, "RankMe: Assessing the downstream
        performance of pretrained self-supervised representations by their rank", ICML 2023.
    """
    z = z.detach().double()
    z = z - z.mean(dim=0, keepdim=True) if centred else z
    gram = z @ z.T if z.shape[0] <= z.shape[1] else z.T @ z  # the smaller side's Gram
    # its eigenvalues are the squared singular values: 4x faster than svdvals at 256x1024,
    # the same effective rank to ~1e-5 (singular values under ~1e-8 of the largest are lost)
    s = torch.linalg.eigvalsh(gram).clamp_min(0).sqrt()
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


@torch.no_grad()
def alignment(z1: Tensor, z2: Tensor, alpha: float = 2.0) -> float:
    """Alignment [1]: mean ||f(x) - f(y)||^alpha over positive pairs (rows of z1, z2: (N, D)),
    on L2-normalised embeddings. 0 when the views of an item map to the same point; 4 is the
    largest possible (alpha 2).

    [1] Wang and Isola, "Understanding Contrastive Representation Learning through
        Alignment and Uniformity on the Hypersphere", ICML 2020.
    """
    a = F.normalize(z1.detach().float(), dim=1)
    b = F.normalize(z2.detach().float(), dim=1)
    return float((a - b).norm(dim=1).pow(alpha).mean())


@torch.no_grad()
def uniformity(z: Tensor, t: float = 2.0) -> float:
    """Uniformity [1]: log mean over distinct pairs of exp(-t ||f(x) - f(y)||^2), on
    L2-normalised embeddings (N, D). 0 for a collapsed point; lower is more uniform
    (about -3.9 for uniform points on a high-dimensional sphere with t = 2)."""
    x = F.normalize(z.detach().float(), dim=1)
    d2 = torch.pdist(x).pow(2)
    return float(torch.logsumexp(-t * d2, dim=0) - torch.log(torch.tensor(float(d2.numel()))))
