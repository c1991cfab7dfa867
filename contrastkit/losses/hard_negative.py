"""Hard-negative NT-Xent (Robinson et al., ICLR 2021): SimCLR's loss with negatives
reweighted towards the ones most similar to the anchor, optionally debiased.

Computed on float32 logits with log-sum-exps, whatever the input dtype; with `gather`,
local anchors are scored against the rows of every process (the `nt_xent` convention).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.nn.distributed import gather_with_grad, rank, require_distributed


def _check_hardness(beta: float, tau_plus: float) -> None:
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if not 0 <= tau_plus < 1:
        raise ValueError(f"tau_plus must be in [0, 1), got {tau_plus}")


def _check_views(z_a: Tensor, z_b: Tensor) -> None:
    if z_a.ndim != 2:
        raise ValueError(f"z_a must be a 2-D (N, D) tensor, got shape {tuple(z_a.shape)}")
    if z_b.shape != z_a.shape:
        raise ValueError(
            f"z_b must have the shape of z_a {tuple(z_a.shape)}, got {tuple(z_b.shape)}"
        )


def _reweighted_logits(
    logits: Tensor, self_col: Tensor, positive_col: Tensor, n_negatives: int, beta: float
) -> tuple[Tensor, Tensor]:
    """Each row's logits with the self column at -inf and every negative's logit l_k
    raised by log(imp_k / mean imp) = log M + log_softmax(beta * l)_k.

    Args:
        logits: (R, K) float32 similarities / temperature.
        self_col, positive_col: (R, 1) column of each row's self and positive.
        n_negatives: M, the number of negatives of every row (K - 2).
        beta: concentration >= 0 of the importance weights; 0 leaves the logits as they are.

    Returns:
        (R, K) reweighted logits, so that logsumexp over a row is log(pos + reweight_neg),
        and the (R, K) boolean mask of the negatives.
    """
    is_self = torch.zeros_like(logits, dtype=torch.bool).scatter(1, self_col, True)
    negative = (~is_self).scatter(1, positive_col, False)
    row = logits.masked_fill(is_self, float("-inf"))
    if beta > 0:
        importance = (beta * logits).masked_fill(~negative, float("-inf")).log_softmax(dim=1)
        row = torch.where(negative, row + importance + math.log(n_negatives), row)
    return row, negative


def hard_negative_nt_xent(
    z_a: Tensor,
    z_b: Tensor,
    *,
    temperature: float | Tensor = 0.1,
    beta: float = 1.0,
    tau_plus: float = 0.0,
    gather: bool = False,
) -> Tensor:
    """NT-Xent with hard-negative importance weights and optional debiasing [1].

    SimCLR's two-view setting [3]: the 2N rows of both views are anchors; an anchor's
    positive is the other view of its item, its M = 2N - 2 negatives all other rows. With
    cosine similarities s and pos = exp(s_pos / t), neg_k = exp(s_k / t), the authors'
    estimator (`criterion` in github.com/joshr17/HCL, estimator "hard") is

        imp_k        = exp(beta * s_k / t)                  (not detached)
        reweight_neg = sum_k imp_k * neg_k / mean_k imp_k
        Ng           = max((reweight_neg - tau_plus * M * pos) / (1 - tau_plus),
                           M * exp(-1 / t))
        loss         = mean over anchors of -log(pos / (pos + Ng)).

    beta = 0 gives uniform weights and tau_plus = 0 no debiasing: then this is `nt_xent`.
    tau_plus > 0 is the debiased estimator of [2] (tau_plus the class prior, the chance
    that a "negative" shares the anchor's class), and the floor M * exp(-1 / t), the
    smallest value the negative term can take, keeps it positive. With tau_plus = 0 the
    floor can never bind (every s_k >= -1) and is left out.

    Computed in log space: with l = s / t, log(imp_k / mean imp) = log M +
    log_softmax(beta * l)_k is added to each negative's logit, so that a log-sum-exp over
    the row gives log(pos + reweight_neg); the debiased difference is formed after a shift
    by the larger of log pos and log reweight_neg, so no exp() overflows.

    Args:
        z_a: (N, D) embeddings of view A, row i from item i. Any dtype; computed in float32.
        z_b: (N, D) embeddings of view B.
        temperature: t > 0 (float or scalar tensor).
        beta: concentration >= 0 of the importance weights on hard negatives.
        tau_plus: class prior in [0, 1) for debiasing; 0 turns debiasing off.
        gather: use the rows of every process (torch.distributed) as columns, with a
            gradient; this process's rows stay the anchors, M counts the global batch.
            As for `nt_xent`, the mean of the processes' losses is the global loss.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: inputs not 2-D or of different shapes, fewer than 2 items in the
            (global) batch, temperature <= 0, beta < 0, tau_plus outside [0, 1), or
            gather=True without an initialised process group.

    Prefer `nt_xent` (beta = 0) for small batches or early training, where the hardest
    "negatives" are often false negatives; more than two views also need `nt_xent`.

    Example:
        >>> z_a, z_b = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = hard_negative_nt_xent(z_a, z_b, temperature=0.5, beta=1.0, tau_plus=0.1)

    [1] Robinson, Chuang, Sra and Jegelka, "Contrastive Learning with Hard Negative
        Samples", ICLR 2021.
    [2] Chuang, Robinson, Lin, Torralba and Jegelka, "Debiased Contrastive Learning",
        NeurIPS 2020.
    [3] Chen et al., "A Simple Framework for Contrastive Learning of Visual
        Representations", ICML 2020.
    """
    _check_views(z_a, z_b)
    check_temperature(temperature)
    _check_hardness(beta, tau_plus)
    if gather:
        require_distributed()

    n = z_a.shape[0]
    with torch.autocast(z_a.device.type, enabled=False):
        a, b = F.normalize(z_a.float(), dim=1), F.normalize(z_b.float(), dim=1)
        anchors = torch.cat([a, b], dim=0)  # (2n, D)
        if gather:
            columns = torch.cat([gather_with_grad(a), gather_with_grad(b)], dim=0)
            offset = rank() * n
        else:
            columns, offset = anchors, 0
        n_global = columns.shape[0] // 2
        if n_global < 2:
            raise ValueError(
                f"hard_negative_nt_xent needs at least 2 items so that every anchor has "
                f"negatives, got N={n_global}"
            )

        device = anchors.device
        view = torch.arange(2, device=device).repeat_interleave(n)  # (2n,)
        item = torch.arange(n, device=device).repeat(2) + offset
        self_col = (view * n_global + item)[:, None]
        positive_col = ((1 - view) * n_global + item)[:, None]

        logits = anchors @ columns.T / temperature  # (2n, 2 * n_global)
        pos_logit = logits.gather(1, positive_col).squeeze(1)
        m = 2 * n_global - 2
        row, negative = _reweighted_logits(logits, self_col, positive_col, m, beta)

        if tau_plus == 0:
            log_denominator = torch.logsumexp(row, dim=1)  # log(pos + reweight_neg)
        else:
            log_neg = torch.logsumexp(row.masked_fill(~negative, float("-inf")), dim=1)
            shift = torch.maximum(pos_logit, log_neg).detach()
            pos = torch.exp(pos_logit - shift)
            debiased = (torch.exp(log_neg - shift) - tau_plus * m * pos) / (1 - tau_plus)
            floor = m * torch.exp(-1 / temperature - shift)
            log_denominator = torch.log(pos + torch.maximum(debiased, floor)) + shift
        return (log_denominator - pos_logit).mean()


class HardNegativeNTXentLoss(nn.Module):
    """Module form of `hard_negative_nt_xent`.

    Args:
        temperature: t > 0.
        beta: concentration >= 0 on hard negatives (0: uniform weights, plain NT-Xent).
        tau_plus: class prior in [0, 1) for the debiased estimator (0: no debiasing).
        gather: use every process's rows as columns (needs torch.distributed).

    Example:
        >>> loss_fn = HardNegativeNTXentLoss(temperature=0.5, beta=1.0, tau_plus=0.1)
        >>> loss = loss_fn(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(
        self,
        temperature: float = 0.1,
        beta: float = 1.0,
        tau_plus: float = 0.0,
        gather: bool = False,
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        _check_hardness(beta, tau_plus)
        if gather:
            require_distributed()
        self.temperature = temperature
        self.beta = beta
        self.tau_plus = tau_plus
        self.gather = gather

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        return hard_negative_nt_xent(
            z_a,
            z_b,
            temperature=self.temperature,
            beta=self.beta,
            tau_plus=self.tau_plus,
            gather=self.gather,
        )

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, beta={self.beta}, tau_plus={self.tau_plus}, "
            f"gather={self.gather}"
        )
