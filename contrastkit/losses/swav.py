"""SwAV: Sinkhorn-Knopp cluster codes and the swapped-prediction loss over multi-crop views.

The codes are computed without gradient in float32 (they are targets); the loss is a
cross-entropy against log-softmax in float32 whatever the input dtype.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.nn.distributed import is_distributed, require_distributed


@torch.no_grad()
def sinkhorn(
    scores: Tensor, *, epsilon: float = 0.05, iterations: int = 3, gather: bool = False
) -> Tensor:
    """Soft cluster codes with equal prototype usage, by Sinkhorn-Knopp (SwAV [1]).

    Solves the entropy-regularised transport of the batch onto the prototypes: starting
    from Q = exp(scores / epsilon)^T (K, B) scaled to sum 1, each iteration rescales the
    rows (prototypes) to 1/K and then the columns (items) to 1/B; the result is (Q B)^T,
    so every item's code sums to 1 and, as the iterations converge, every prototype
    receives B/K of the batch in total. Follows `distributed_sinkhorn` of the official
    code [2].

    Args:
        scores: (B, K) similarities of B items to K prototypes. Any dtype; no gradient
            flows. scores / epsilon should span well under ~80 (float32's exp range): SwAV's
            cosine scores span at most 2 / 0.05 = 40 with the default epsilon.
        epsilon: entropy regularisation > 0 (0.05 in [1]); smaller gives sharper codes.
        iterations: number of row-then-column rescalings >= 1 (3 in [1]).
        gather: run the sums over the items of every process (torch.distributed all_reduce
            of the prototypes' sums; the codes carry no gradient, so a plain collective is
            right here); B is then the global number of items and each process gets the
            codes of its own rows.

    Returns:
        (B, K) float32 non-negative codes, each row summing to 1.

    Raises:
        ValueError: scores not 2-D and non-empty, epsilon <= 0, iterations < 1, or
            gather=True without an initialised process group.

    Example:
        >>> codes = sinkhorn(torch.randn(32, 10).tanh(), epsilon=0.05, iterations=3)
        >>> row_sums = codes.sum(dim=1)  # all ones

    [1] Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
        Assignments", NeurIPS 2020.
    [2] https://github.com/facebookresearch/swav, main_swav.py.
    """
    if scores.ndim != 2 or scores.numel() == 0:
        raise ValueError(
            f"scores must be a non-empty 2-D (B, K) tensor, got shape {tuple(scores.shape)}"
        )
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    if gather:
        require_distributed()
    collective = gather and is_distributed()

    n_prototypes = scores.shape[1]
    with torch.autocast(scores.device.type, enabled=False):
        logits = scores.float() / epsilon
        # Subtracting a per-prototype constant multiplies row k of Q by exp(-shift_k); the
        # first row rescaling divides that factor out again, so the codes are unchanged.
        # It keeps exp() from overflowing, and every prototype keeps an entry of exactly 1,
        # so no row sum underflows to 0 (which would give NaN). The shift must be the same
        # on every process, hence the global max.
        shift = logits.max(dim=0).values  # (K,)
        if collective:
            dist.all_reduce(shift, op=dist.ReduceOp.MAX)
        q = torch.exp(logits - shift).T  # (K, B)

        total = torch.stack([q.sum(), torch.tensor(float(q.shape[1]), device=q.device)])
        if collective:
            dist.all_reduce(total)  # sum of Q and number of items over all processes
        q /= total[0]
        n_items = total[1]
        for _ in range(iterations):
            prototype_mass = q.sum(dim=1, keepdim=True)  # (K, 1)
            if collective:
                dist.all_reduce(prototype_mass)
            q /= prototype_mass * n_prototypes  # each prototype: 1/K
            q /= q.sum(dim=0, keepdim=True) * n_items  # each item: 1/B (local columns)
        return (q * n_items).T


def swav_loss(scores: list[Tensor], codes: list[Tensor], *, temperature: float = 0.1) -> Tensor:
    """SwAV's swapped prediction [1]: predict each global view's codes from every other view.

    With p_t = softmax(scores[t] / temperature), the loss is the mean over the global views
    v (those with codes) of the mean over the other views t != v of the mean over rows of
    the cross-entropy `-sum_k codes[v][i, k] log p_t[i, k]`, as in the official code (each
    sub-loss averaged over the V - 1 other crops, then over the global crops).

    Args:
        scores: V >= 2 tensors (B, K) of item-prototype similarities, the global views
            first, then the small multi-crop views. Any dtype; computed in float32.
        codes: the (B, K) targets of the first len(codes) views, usually from `sinkhorn`;
            treated as constants (detached).
        temperature: softmax temperature > 0 (0.1 in [1]).

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: fewer than 2 views, no codes or more codes than views, shapes that do
            not all match scores[0], or temperature <= 0.

    Example:
        >>> scores = [torch.randn(16, 10) for _ in range(4)]  # 2 global + 2 local crops
        >>> codes = [sinkhorn(s) for s in scores[:2]]
        >>> loss = swav_loss(scores, codes, temperature=0.1)

    [1] Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
        Assignments", NeurIPS 2020.
    """
    if len(scores) < 2:
        raise ValueError(f"swav_loss needs at least 2 views in scores, got {len(scores)}")
    if not 1 <= len(codes) <= len(scores):
        raise ValueError(
            f"codes must hold 1 to len(scores)={len(scores)} tensors, got {len(codes)}"
        )
    shape = tuple(scores[0].shape)
    if len(shape) != 2:
        raise ValueError(f"scores[0] must be a 2-D (B, K) tensor, got shape {shape}")
    for name, group in (("scores", scores), ("codes", codes)):
        for v, x in enumerate(group):
            if tuple(x.shape) != shape:
                raise ValueError(f"{name}[{v}] must have shape {shape}, got {tuple(x.shape)}")
    check_temperature(temperature)

    n_views = len(scores)
    with torch.autocast(scores[0].device.type, enabled=False):
        log_p = torch.stack([torch.log_softmax(s.float() / temperature, dim=1) for s in scores])
        q = torch.stack([c.detach().float() for c in codes])  # (G, B, K)
        # cross[v, t] = mean over rows of -sum_k q_v log p_t; the diagonal t == v is dropped.
        cross = -torch.einsum("gbk,vbk->gv", q, log_p) / shape[0]  # (G, V)
        own = torch.eye(len(codes), n_views, dtype=torch.bool, device=cross.device)
        return cross.masked_fill(own, 0.0).sum(dim=1).div(n_views - 1).mean()


class SwAVLoss(nn.Module):
    """Module form of `swav_loss` that also computes the codes with `sinkhorn`.

    Args:
        temperature: softmax temperature > 0 (0.1).
        epsilon: Sinkhorn's entropy regularisation (0.05).
        iterations: Sinkhorn iterations (3).
        n_global: how many leading views get codes (2 in [1]).
        gather: run Sinkhorn over every process's batch.

    Example:
        >>> loss_fn = SwAVLoss()
        >>> loss = loss_fn([torch.randn(16, 10) for _ in range(4)])

    [1] Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
        Assignments", NeurIPS 2020.
    """

    def __init__(
        self,
        temperature: float = 0.1,
        epsilon: float = 0.05,
        iterations: int = 3,
        n_global: int = 2,
        gather: bool = False,
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        if iterations < 1 or n_global < 1:
            raise ValueError(
                f"iterations and n_global must be >= 1, got {iterations} and {n_global}"
            )
        if gather:
            require_distributed()
        self.temperature, self.epsilon, self.iterations = temperature, epsilon, iterations
        self.n_global, self.gather = n_global, gather

    def forward(self, scores: list[Tensor]) -> Tensor:
        codes = [
            sinkhorn(s, epsilon=self.epsilon, iterations=self.iterations, gather=self.gather)
            for s in scores[: self.n_global]
        ]
        return swav_loss(scores, codes, temperature=self.temperature)

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, epsilon={self.epsilon}, "
            f"iterations={self.iterations}, n_global={self.n_global}, gather={self.gather}"
        )
