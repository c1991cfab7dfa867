"""Negative-cosine regression losses without negatives: SimSiam's D and BYOL's 2 - 2 cos.

Both compare a prediction `p` with a target `z` row by row and stop the gradient through
the target inside the function, as both papers prescribe. They are per-item losses, so a
multi-process run needs no gather: DDP's gradient averaging already gives the loss of the
global batch. The cosine is computed in float32, whatever the input dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_pair(p: Tensor, z: Tensor) -> None:
    if p.ndim != 2:
        raise ValueError(f"p must be a 2-D (N, D) tensor, got shape {tuple(p.shape)}")
    if z.shape != p.shape:
        raise ValueError(f"z must have the shape of p {tuple(p.shape)}, got {tuple(z.shape)}")
    if p.shape[0] < 1:
        raise ValueError("p and z must hold at least 1 row, got 0")


def _row_cosine(p: Tensor, z: Tensor) -> Tensor:
    """(N, D) x (N, D) -> (N,) float32 cosine of each row of p with the same row of z.detach()."""
    with torch.autocast(p.device.type, enabled=False):
        p = F.normalize(p.float(), dim=1)
        z = F.normalize(z.detach().float(), dim=1)
        return (p * z).sum(dim=1)


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """SimSiam's D(p, stopgrad(z)) [1]: the negative cosine similarity, averaged over rows.

    D(p, z) = -(1/N) sum_i p_i . z_i / (||p_i|| ||z_i||), with `z` detached here: the
    stop-gradient is part of the loss (sec. 3 and algorithm 1 of [1]), not left to the
    caller. Zero rows count as cosine 0.

    Args:
        p: (N, D) predictor outputs; the gradient flows into them. Any float dtype; the
            cosine is computed in float32.
        z: (N, D) projector outputs of the other view, the targets; row i pairs with p_i.
            No gradient reaches `z`.

    Returns:
        Scalar float32 loss in [-1, 1]; -1 when every p_i points along z_i.

    Raises:
        ValueError: `p` is not 2-D, `z` has another shape, or there are no rows.

    Prefer `byol_loss` to reproduce BYOL: it is 2 + 2 D, so the same minimiser with twice
    the gradient. Neither prevents collapse by itself; SimSiam and BYOL rely on the
    predictor and the stop-gradient (plus a momentum target in BYOL).

    Example:
        >>> p, z = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = negative_cosine(p, z) / 2 + negative_cosine(z, p) / 2

    [1] Chen and He, "Exploring Simple Siamese Representation Learning", CVPR 2021.
    """
    _check_pair(p, z)
    return -_row_cosine(p, z).mean()


def byol_loss(p: Tensor, z: Tensor) -> Tensor:
    """BYOL's regression loss [1]: ||p_i/||p_i|| - z_i/||z_i||||^2 = 2 - 2 cos(p_i, z_i),
    averaged over rows, with the target `z` detached.

    Args:
        p: (N, D) online predictions q_theta(z_theta); the gradient flows into them. Any
            float dtype; computed in float32.
        z: (N, D) target projections z'_xi of the other view, from the momentum (target)
            network; detached here, as the target network gets no gradient (eq. 2 of [1]).

    Returns:
        Scalar float32 loss in [0, 4]; 0 when every p_i points along z_i.

    Raises:
        ValueError: `p` is not 2-D, `z` has another shape, or there are no rows.

    Prefer `negative_cosine` for SimSiam, whose paper states the loss as -cos.

    Example:
        >>> p1, target2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = byol_loss(p1, target2)

    [1] Grill et al., "Bootstrap Your Own Latent: A New Approach to Self-Supervised
        Learning", NeurIPS 2020, eq. 2.
    """
    _check_pair(p, z)
    return (2 - 2 * _row_cosine(p, z)).mean()


class NegativeCosineLoss(nn.Module):
    """Module form of `negative_cosine` (SimSiam's D with the stop-gradient on `z`).

    Example:
        >>> loss_fn = NegativeCosineLoss()
        >>> loss = loss_fn(torch.randn(8, 16), torch.randn(8, 16))
    """

    def forward(self, p: Tensor, z: Tensor) -> Tensor:
        return negative_cosine(p, z)


class BYOLLoss(nn.Module):
    """Module form of `byol_loss` (2 - 2 cos against a detached target).

    Example:
        >>> loss_fn = BYOLLoss()
        >>> loss = loss_fn(torch.randn(8, 16), torch.randn(8, 16))
    """

    def forward(self, p: Tensor, z: Tensor) -> Tensor:
        return byol_loss(p, z)
