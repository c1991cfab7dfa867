"""Supervised contrastive loss (SupCon): every row with the same label is a positive.

The similarities are cosine logits in float32 whatever the input dtype, reduced with a
log-sum-exp; the candidates can be gathered from every process with a gradient (local
rows against global columns, memory linear in world size), labels alongside.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.nn.distributed import (
    gather_no_grad,
    gather_with_grad,
    rank,
    require_distributed,
    world_size,
)


def _check_views(views: tuple[Tensor, ...], labels: Tensor) -> None:
    if len(views) < 1:
        raise ValueError("supcon_loss needs at least 1 view, got 0")
    for v, z in enumerate(views):
        if z.ndim != 2:
            raise ValueError(f"views[{v}] must be a 2-D (N, D) tensor, got shape {tuple(z.shape)}")
        if z.shape != views[0].shape:
            raise ValueError(
                f"views[{v}] must have the shape of the first view {tuple(views[0].shape)}, "
                f"got {tuple(z.shape)}"
            )
    if labels.ndim != 1 or labels.shape[0] != views[0].shape[0]:
        raise ValueError(
            f"labels must be a 1-D tensor of length N={views[0].shape[0]}, "
            f"got shape {tuple(labels.shape)}"
        )


def supcon_loss(
    *views: Tensor,
    labels: Tensor,
    temperature: float | Tensor = 0.1,
    gather: bool = False,
) -> Tensor:
    """Supervised contrastive loss, L_out of Khosla et al. [1] (eq. 2).

    All V*N rows are anchors. An anchor's positives are every other row whose item has the
    same label, the other views of its own item included; its softmax runs over every
    other row (itself excluded). Per anchor the loss is the mean over its positives of
    -log softmax; the result is the mean over anchors. Anchors without any positive (a
    singleton label with V = 1) are left out of the mean; if no anchor has one, the loss
    is 0 (with a graph, so backward still works).

    Args:
        *views: V >= 1 tensors of shape (N, D), row i of each view from item i. Any dtype;
            cosine similarities are computed in float32.
        labels: (N,) class of each item (any dtype that supports ==; integers usually).
        temperature: softmax temperature tau > 0 (a float or a scalar tensor, which may be
            learnable).
        gather: gather the views (with a gradient) and labels (without) of every process
            as columns; this process's rows stay the anchors. The loss is this process's
            share of the global loss: the sum over its anchors divided by the global number
            of anchors with a positive, times the world size, so the mean over processes is
            the loss of the whole global batch (DDP averages the gradients the same way).
            With V >= 2 every anchor has a positive and this is the plain local mean.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: no views, views of different shapes, labels not (N,), temperature <= 0,
            or gather=True without an initialised process group.

    With all labels distinct this equals `nt_xent` (SimCLR); prefer `nt_xent` for
    self-supervised training, where item identity is the only label. For a batch with many
    classes and few samples per class, SupCon's positives come mostly from the other views.

    Example:
        >>> z_a, z_b = torch.randn(8, 16), torch.randn(8, 16)
        >>> labels = torch.tensor([0, 1, 0, 2, 1, 3, 3, 0])
        >>> loss = supcon_loss(z_a, z_b, labels=labels, temperature=0.1)

    [1] Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020.
    """
    _check_views(views, labels)
    check_temperature(temperature)
    if gather:
        require_distributed()

    n_views, n = len(views), views[0].shape[0]
    device = views[0].device
    with torch.autocast(device.type, enabled=False):
        local = [F.normalize(z.float(), dim=1) for z in views]
        anchors = torch.cat(local, dim=0)  # (V*n, D)
        if gather:
            columns = torch.cat([gather_with_grad(z) for z in local], dim=0)  # (V*W*n, D)
            column_labels = gather_no_grad(labels.to(device)).repeat(n_views)  # (V*W*n,)
            offset, world = rank() * n, world_size()
        else:
            columns, column_labels, offset, world = anchors, labels.repeat(n_views), 0, 1
        n_global = columns.shape[0] // n_views

        view_of_row = torch.arange(n_views, device=device).repeat_interleave(n)  # (V*n,)
        item_col = torch.arange(n, device=device).repeat(n_views) + offset  # (V*n,)
        self_index = view_of_row * n_global + item_col  # column holding the anchor itself
        is_self = torch.zeros(anchors.shape[0], columns.shape[0], dtype=torch.bool, device=device)
        is_self[torch.arange(anchors.shape[0], device=device), self_index] = True
        positive = (labels.to(device).repeat(n_views)[:, None] == column_labels[None, :]) & ~is_self

        # The largest finite value, not -inf: an anchor with no other column (V = 1, one
        # item) then gets a finite log-sum-exp instead of NaN; exp(min - max) is exactly 0.
        logits = (anchors @ columns.T / temperature).masked_fill(
            is_self, torch.finfo(torch.float32).min
        )
        log_norm = torch.logsumexp(logits, dim=1)  # (V*n,)
        n_positive = positive.sum(dim=1)
        positive_logit = torch.where(positive, logits, 0.0).sum(dim=1)
        per_anchor = log_norm - positive_logit / n_positive.clamp(min=1)
        has_positive = n_positive > 0

        # Anchors with a positive in the global batch: a column's label must occur at least
        # twice among all columns (every anchor is a column somewhere).
        _, inverse, counts = torch.unique(column_labels, return_inverse=True, return_counts=True)
        n_valid = (counts[inverse] > 1).sum().clamp(min=1)
        return torch.where(has_positive, per_anchor, 0.0).sum() * world / n_valid


class SupConLoss(nn.Module):
    """Module form of `supcon_loss` holding the temperature and the gather flag.

    Args:
        temperature: tau > 0 (0.1 in [1]).
        gather: gather candidates and labels across processes (needs torch.distributed).

    Example:
        >>> loss_fn = SupConLoss(temperature=0.1)
        >>> loss = loss_fn(torch.randn(8, 16), torch.randn(8, 16), labels=torch.arange(8) % 3)

    [1] Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020.
    """

    def __init__(self, temperature: float = 0.1, gather: bool = False) -> None:
        super().__init__()
        check_temperature(temperature)
        if gather:
            require_distributed()
        self.temperature = temperature
        self.gather = gather

    def forward(self, *views: Tensor, labels: Tensor) -> Tensor:
        return supcon_loss(*views, labels=labels, temperature=self.temperature, gather=self.gather)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, gather={self.gather}"
