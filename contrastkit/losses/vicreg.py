"""VICReg's loss: invariance (MSE), variance (std hinge) and covariance (decorrelation) terms.

Follows the official implementation term by term, in float32 whatever the input dtype.
With `gather`, the variance and covariance terms use the rows of every process, gathered
with a gradient as the official code's FullGatherLayer does.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.barlow_twins import check_views, off_diagonal
from contrastkit.nn.distributed import gather_with_grad, require_distributed


class VICRegTerms(NamedTuple):
    """VICReg's weighted total and its three unweighted terms, all scalar float32 tensors.

    Attributes:
        loss: sim_weight * invariance + var_weight * variance + cov_weight * covariance.
        invariance: mean squared difference of the two views' embeddings.
        variance: std hinge, averaged over features and the two branches (in [0, 1]).
        covariance: squared off-diagonal covariances / D, summed over the two branches.
    """

    loss: Tensor
    invariance: Tensor
    variance: Tensor
    covariance: Tensor


def _check_weights(**weights: float) -> None:
    for name, value in weights.items():
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value}")


def _check_eps(eps: float) -> None:
    if not eps > 0:
        raise ValueError(f"eps must be > 0 (it keeps the std's gradient finite), got {eps}")


def _variance_and_covariance(z: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """(N, D) -> mean_d relu(1 - sqrt(var_d + eps)) and sum_{i != j} cov_ij^2 / D."""
    n, d = z.shape
    centred = z - z.mean(dim=0)
    std = torch.sqrt(centred.var(dim=0) + eps)  # unbiased, as in the official code
    cov = centred.T @ centred / (n - 1)
    return F.relu(1 - std).mean(), off_diagonal(cov).pow(2).sum() / d


def vicreg_loss(
    z1: Tensor,
    z2: Tensor,
    *,
    sim_weight: float = 25.0,
    var_weight: float = 25.0,
    cov_weight: float = 1.0,
    eps: float = 1e-4,
    gather: bool = False,
) -> VICRegTerms:
    """VICReg [1], as in the authors' code (`VICReg.forward` in facebookresearch/vicreg).

    invariance = mean over all elements of (z1 - z2)^2;
    variance   = mean_d relu(1 - std_d(z1)) / 2 + mean_d relu(1 - std_d(z2)) / 2, with
                 std_d = sqrt(var_d + eps) and the unbiased variance over rows;
    covariance = sum_{i != j} cov_ij(z1)^2 / D + sum_{i != j} cov_ij(z2)^2 / D, with
                 cov = zc^T zc / (N - 1) on the column-centred branch zc;
    loss       = sim_weight * invariance + var_weight * variance + cov_weight * covariance.

    Args:
        z1: (N, D) expander outputs of view 1. Any float dtype; computed in float32.
        z2: (N, D) expander outputs of view 2, row i from the same item as z1's row i.
        sim_weight: lambda >= 0 of [1], the invariance weight.
        var_weight: mu >= 0 of [1], the variance weight.
        cov_weight: nu >= 0 of [1], the covariance weight; 25, 25 and 1 are the
            paper's ImageNet settings and the official code's defaults.
        eps: > 0 added to each variance before the square root (1e-4 in [1]).
        gather: gather both branches from every process (torch.distributed) with a
            gradient before the variance and covariance terms, which are then the global
            batch's on every process. The invariance is a per-item mean and, as in the
            official code, uses this process's rows: averaged over processes it is the
            global one. So the mean of the processes' losses is the global loss, and each
            process's rows receive world_size x the global gradient, which DDP's
            averaging turns back into the global gradient (the `nt_xent` convention).

    Returns:
        VICRegTerms(loss, invariance, variance, covariance), scalar float32 tensors; the
        three terms are unweighted.

    Raises:
        ValueError: inputs not 2-D or of different shapes, fewer than 2 (global) rows, a
            negative weight, eps <= 0, or gather=True without an initialised process group.

    Prefer `barlow_twins_loss` for a single objective with one hyper-parameter. VICReg
    needs no batch standardisation and regularises each branch on its own, so it also
    suits branches of different architectures, and its terms are easy to monitor.

    Example:
        >>> z1, z2 = torch.randn(32, 64), torch.randn(32, 64)
        >>> terms = vicreg_loss(z1, z2)
        >>> terms.loss.shape, float(terms.invariance) > 0
        (torch.Size([]), True)

    [1] Bardes, Ponce and LeCun, "VICReg: Variance-Invariance-Covariance Regularization
        for Self-Supervised Learning", ICLR 2022.
    """
    if gather:
        require_distributed()
    check_views(z1, z2, min_rows=2, gather=gather)
    _check_weights(sim_weight=sim_weight, var_weight=var_weight, cov_weight=cov_weight)
    _check_eps(eps)

    with torch.autocast(z1.device.type, enabled=False):
        a, b = z1.float(), z2.float()
        invariance = F.mse_loss(a, b)
        if gather:
            a, b = gather_with_grad(a), gather_with_grad(b)
        var_a, cov_a = _variance_and_covariance(a, eps)
        var_b, cov_b = _variance_and_covariance(b, eps)
        variance = var_a / 2 + var_b / 2
        covariance = cov_a + cov_b
        loss = sim_weight * invariance + var_weight * variance + cov_weight * covariance
    return VICRegTerms(loss, invariance, variance, covariance)


class VICRegLoss(nn.Module):
    """Module form of `vicreg_loss`; `forward` returns the `VICRegTerms`.

    Args:
        sim_weight: lambda >= 0, the invariance weight (25 in [1]).
        var_weight: mu >= 0, the variance weight (25 in [1]).
        cov_weight: nu >= 0, the covariance weight (1 in [1]).
        eps: > 0 added to each variance before the square root.
        gather: variance and covariance over every process's rows (needs torch.distributed).

    Example:
        >>> loss_fn = VICRegLoss()
        >>> loss = loss_fn(torch.randn(32, 64), torch.randn(32, 64)).loss
    """

    def __init__(
        self,
        sim_weight: float = 25.0,
        var_weight: float = 25.0,
        cov_weight: float = 1.0,
        eps: float = 1e-4,
        gather: bool = False,
    ) -> None:
        super().__init__()
        _check_weights(sim_weight=sim_weight, var_weight=var_weight, cov_weight=cov_weight)
        _check_eps(eps)
        if gather:
            require_distributed()
        self.sim_weight = sim_weight
        self.var_weight = var_weight
        self.cov_weight = cov_weight
        self.eps = eps
        self.gather = gather

    def forward(self, z1: Tensor, z2: Tensor) -> VICRegTerms:
        return vicreg_loss(
            z1,
            z2,
            sim_weight=self.sim_weight,
            var_weight=self.var_weight,
            cov_weight=self.cov_weight,
            eps=self.eps,
            gather=self.gather,
        )

    def extra_repr(self) -> str:
        return (
            f"sim_weight={self.sim_weight}, var_weight={self.var_weight}, "
            f"cov_weight={self.cov_weight}, eps={self.eps}, gather={self.gather}"
        )
