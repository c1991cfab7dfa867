"""Barlow Twins' redundancy-reduction loss: drive the cross-correlation of two views to I.

The features are standardised over the (optionally global) batch and correlated in
float32, whatever the input dtype. With `gather`, every process computes the same loss on
the whole global batch from rows gathered with a gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.nn.distributed import gather_with_grad, require_distributed, world_size


def off_diagonal(x: Tensor) -> Tensor:
    """The D*(D-1) off-diagonal entries of a square (D, D) matrix, flattened.

    The trick of the official Barlow Twins and VICReg code: dropping the last entry and
    reshaping to (D-1, D+1) puts every diagonal entry in column 0.
    """
    if x.ndim != 2 or x.shape[0] != x.shape[1]:
        raise ValueError(f"x must be a square (D, D) matrix, got shape {tuple(x.shape)}")
    d = x.shape[0]
    return x.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()


def check_views(z1: Tensor, z2: Tensor, *, min_rows: int, gather: bool) -> None:
    """Raise ValueError unless z1 and z2 are (N, D) of one shape with enough (global) rows."""
    if z1.ndim != 2:
        raise ValueError(f"z1 must be a 2-D (N, D) tensor, got shape {tuple(z1.shape)}")
    if z2.shape != z1.shape:
        raise ValueError(f"z2 must have the shape of z1 {tuple(z1.shape)}, got {tuple(z2.shape)}")
    rows = z1.shape[0] * (world_size() if gather else 1)
    if rows < min_rows:
        where = " in the global batch" if gather else ""
        raise ValueError(
            f"z1 and z2 need at least {min_rows} rows{where} for batch statistics, got {rows}"
        )


def _check_non_negative(name: str, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def _standardise(z: Tensor, eps: float) -> Tensor:
    """(N, D) -> (N, D): each column to mean 0 and biased variance var / (var + eps)."""
    centred = z - z.mean(dim=0)
    return centred / torch.sqrt(centred.pow(2).mean(dim=0) + eps)


def barlow_twins_loss(
    z1: Tensor,
    z2: Tensor,
    *,
    lambda_: float = 5e-3,
    gather: bool = False,
    eps: float = 1e-5,
) -> Tensor:
    """Barlow Twins [1], algorithm 1: sum_i (1 - C_ii)^2 + lambda_ * sum_{i != j} C_ij^2.

    Each feature (column) of each view is standardised over the batch, then
    C = z1n^T z2n / N is the (D, D) cross-correlation matrix of the two views. The first
    term makes each feature invariant to the augmentation (C_ii -> 1), the second
    decorrelates distinct features (C_ij -> 0).

    Standardisation: (z - mean) / sqrt(var + eps) with the biased variance (divide by N)
    and eps = 1e-5, exactly what the official code's `nn.BatchNorm1d(affine=False)` does
    in training mode. The eps keeps a constant feature finite (it then contributes
    (1 - 0)^2 = 1); it also makes the loss invariant to per-feature affine maps only up to
    O(eps / var). Pass eps=0 for the textbook correlation.

    Args:
        z1: (N, D) projector outputs of view 1. Any float dtype; computed in float32.
        z2: (N, D) projector outputs of view 2, row i from the same item as z1's row i.
        lambda_: weight >= 0 of the off-diagonal (redundancy) term; 5e-3 in [1], with
            D = 8192 (its implementation details; the ablation shows a broad optimum).
        gather: gather the rows of every process (torch.distributed) with a gradient and
            compute the statistics and the loss over the global batch, as the official
            code's SyncBatchNorm and all-reduced C do. Every process then returns the
            same global loss; each process's rows receive world_size x its gradient,
            which DDP's averaging turns back into the global gradient (the `nt_xent`
            convention).
        eps: >= 0, added to each feature's variance before the square root.

    Returns:
        Scalar float32 loss >= 0.

    Raises:
        ValueError: inputs not 2-D or of different shapes, fewer than 2 (global) rows,
            lambda_ < 0, eps < 0, or gather=True without an initialised process group.

    Prefer `vicreg_loss` to monitor invariance, variance and decorrelation as separate
    terms, or when the two branches differ (it regularises each branch on its own);
    Barlow Twins couples them in one matrix C with a single hyper-parameter.

    Example:
        >>> z1, z2 = torch.randn(32, 64), torch.randn(32, 64)
        >>> loss = barlow_twins_loss(z1, z2, lambda_=5e-3)

    [1] Zbontar et al., "Barlow Twins: Self-Supervised Learning via Redundancy
        Reduction", ICML 2021.
    """
    if gather:
        require_distributed()
    check_views(z1, z2, min_rows=2, gather=gather)
    _check_non_negative("lambda_", lambda_)
    _check_non_negative("eps", eps)

    with torch.autocast(z1.device.type, enabled=False):
        a, b = z1.float(), z2.float()
        if gather:
            a, b = gather_with_grad(a), gather_with_grad(b)
        n = a.shape[0]
        c = _standardise(a, eps).T @ _standardise(b, eps) / n  # (D, D)
        on_diag = (torch.diagonal(c) - 1).pow(2).sum()
        off_diag = off_diagonal(c).pow(2).sum()
        return on_diag + lambda_ * off_diag


class BarlowTwinsLoss(nn.Module):
    """Module form of `barlow_twins_loss` holding lambda_, the gather flag and eps.

    Args:
        lambda_: weight >= 0 of the off-diagonal term.
        gather: compute the loss over every process's rows (needs torch.distributed).
        eps: >= 0, added to each feature's variance.

    Example:
        >>> loss_fn = BarlowTwinsLoss(lambda_=5e-3)
        >>> loss = loss_fn(torch.randn(32, 64), torch.randn(32, 64))
    """

    def __init__(self, lambda_: float = 5e-3, gather: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        _check_non_negative("lambda_", lambda_)
        _check_non_negative("eps", eps)
        if gather:
            require_distributed()
        self.lambda_ = lambda_
        self.gather = gather
        self.eps = eps

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return barlow_twins_loss(z1, z2, lambda_=self.lambda_, gather=self.gather, eps=self.eps)

    def extra_repr(self) -> str:
        return f"lambda_={self.lambda_}, gather={self.gather}, eps={self.eps}"
