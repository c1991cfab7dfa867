"""Decoupled contrastive loss (DCL) and its von Mises-Fisher weighted form (DCLW).

NT-Xent without the positive pair in the softmax denominator. Cosine logits in float32
whatever the input dtype, reduced with a log-sum-exp; the candidates can be gathered from
every process with a gradient (local rows against global columns).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.nn.distributed import gather_with_grad, rank, require_distributed, world_size


def _check_weight_sigma(weight_sigma: float | None) -> None:
    if weight_sigma is not None and not weight_sigma > 0:
        raise ValueError(f"weight_sigma must be > 0 or None, got {weight_sigma}")


def _one_direction(
    a: Tensor,
    a_cols: Tensor,
    b_cols: Tensor,
    positive: Tensor,
    weight: Tensor | None,
    offset: int,
    temperature: float | Tensor,
) -> Tensor:
    """Mean over the local anchors a_i of -w_i s(a_i, b_i) / t + logsumexp of the negatives.

    Args:
        a: (n, D) normalised local anchors.
        a_cols, b_cols: (M, D) normalised columns of both views (M = n, or W*n gathered).
        positive: (n,) s(a_i, b_i), float32.
        weight: (n,) DCLW weights of the local rows, or None.
        offset: column of local row 0 (rank * n when gathered).
    """
    n = a.shape[0]
    logits = torch.cat([a @ a_cols.T, a @ b_cols.T], dim=1) / temperature  # (n, 2M)
    own = torch.arange(n, device=a.device) + offset
    # Self (block 1) and the positive (block 2) leave the denominator; the largest finite
    # value rather than -inf keeps the masked entries' gradient a clean 0.
    masked = torch.stack([own, own + a_cols.shape[0]], dim=1)  # (n, 2)
    logits = logits.scatter(1, masked, torch.finfo(torch.float32).min)
    positive_term = positive / temperature
    if weight is not None:
        positive_term = positive_term * weight
    return (torch.logsumexp(logits, dim=1) - positive_term).mean()


def dcl_loss(
    z1: Tensor,
    z2: Tensor,
    *,
    temperature: float | Tensor = 0.1,
    weight_sigma: float | None = None,
    gather: bool = False,
) -> Tensor:
    """Decoupled contrastive loss of Yeh et al. [1], in the form of the reference code [2].

    For a direction (a, b) and anchor a_i, with s the cosine similarity:

        l_i = -w_i s(a_i, b_i) / t + log sum_{k != i} [exp(s(a_i, a_k) / t) + exp(s(a_i, b_k) / t)]

    i.e. NT-Xent with the positive pair removed from the denominator. DCL uses w_i = 1;
    DCLW uses the negative von Mises-Fisher weight w_i = 2 - N softmax_j(s(a_j, b_j) / sigma)_i,
    which weighs the positive term up for pairs that are far apart. As in [2], the weight is
    not detached: its gradient flows into the embeddings (LightlySSL detaches it; the
    difference only affects DCLW's gradient, not the loss value). The loss of one
    direction is the mean of l_i over the batch; this function returns the average of the
    directions (z1, z2) and (z2, z1), so it is symmetric in its arguments and on the
    scale of `nt_xent` ([2] computes one direction; summing both, as some training scripts
    do, gives twice this value).

    Args:
        z1: (N, D) embeddings of view 1. Any dtype; similarities are computed in float32.
        z2: (N, D) embeddings of view 2, row i the positive of z1's row i.
        temperature: t > 0 (0.1 in [1]; a float or a scalar tensor).
        weight_sigma: sigma > 0 of DCLW (0.5 in [1]); None gives plain DCL.
        gather: use both views' rows of every process as columns (with a gradient); this
            process's rows stay the anchors, and the DCLW softmax runs over the positives
            of the whole global batch (N = global batch size), so the mean of the
            processes' losses is the single-process loss of the global batch.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: z1 and z2 not both (N, D) of the same shape, fewer than 2 items in the
            (global) batch, temperature <= 0, weight_sigma <= 0, or gather=True without an
            initialised process group.

    Prefer DCL over `nt_xent` with small batches, where the positive's share of the
    NT-Xent denominator shrinks its gradient [1]; with very large batches both behave
    alike. For more than two views use `nt_xent`.

    Example:
        >>> z1, z2 = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = dcl_loss(z1, z2, temperature=0.1, weight_sigma=0.5)

    [1] Yeh et al., "Decoupled Contrastive Learning", ECCV 2022.
    [2] https://github.com/raminnakhli/Decoupled-Contrastive-Learning, loss/dcl.py (the
        implementation LightlySSL's DCLLoss follows).
    """
    for name, z in (("z1", z1), ("z2", z2)):
        if z.ndim != 2:
            raise ValueError(f"{name} must be a 2-D (N, D) tensor, got shape {tuple(z.shape)}")
    if z2.shape != z1.shape:
        raise ValueError(f"z2 must have the shape of z1 {tuple(z1.shape)}, got {tuple(z2.shape)}")
    check_temperature(temperature)
    _check_weight_sigma(weight_sigma)
    if gather:
        require_distributed()
    n = z1.shape[0]
    world = world_size() if gather else 1
    if n * world < 2:
        raise ValueError(f"dcl_loss needs at least 2 items in the batch for negatives, got {n}")

    with torch.autocast(z1.device.type, enabled=False):
        a = F.normalize(z1.float(), dim=1)
        b = F.normalize(z2.float(), dim=1)
        a_cols = gather_with_grad(a) if gather else a
        b_cols = gather_with_grad(b) if gather else b
        offset = rank() * n if gather else 0
        positive = (a * b).sum(dim=1)  # (n,), the same for both directions
        weight = None
        if weight_sigma is not None:
            all_positive = (a_cols * b_cols).sum(dim=1)  # (W*n,) the global batch's pairs
            softmax = torch.softmax(all_positive / weight_sigma, dim=0)
            weight = 2 - all_positive.shape[0] * softmax[offset : offset + n]
        loss_ab = _one_direction(a, a_cols, b_cols, positive, weight, offset, temperature)
        loss_ba = _one_direction(b, b_cols, a_cols, positive, weight, offset, temperature)
        return (loss_ab + loss_ba) / 2


class DCLLoss(nn.Module):
    """Module form of `dcl_loss` (DCLW when `weight_sigma` is set).

    Args:
        temperature: t > 0 (0.1 in [1]).
        weight_sigma: sigma of DCLW (0.5 in [1]); None for plain DCL.
        gather: gather candidates across processes (needs torch.distributed initialised).

    Example:
        >>> loss_fn = DCLLoss(temperature=0.1, weight_sigma=0.5)
        >>> loss = loss_fn(torch.randn(8, 16), torch.randn(8, 16))

    [1] Yeh et al., "Decoupled Contrastive Learning", ECCV 2022.
    """

    def __init__(
        self, temperature: float = 0.1, weight_sigma: float | None = None, gather: bool = False
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        _check_weight_sigma(weight_sigma)
        if gather:
            require_distributed()
        self.temperature = temperature
        self.weight_sigma = weight_sigma
        self.gather = gather

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return dcl_loss(
            z1,
            z2,
            temperature=self.temperature,
            weight_sigma=self.weight_sigma,
            gather=self.gather,
        )

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, weight_sigma={self.weight_sigma}, "
            f"gather={self.gather}"
        )
