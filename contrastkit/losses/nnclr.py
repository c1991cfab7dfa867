"""NNCLR's loss: each view's nearest neighbour in a support set is the positive of the other
view's prediction, scored with InfoNCE.

The nearest-neighbour lookup is a plain function without gradient (the support set holds
past embeddings); the contrastive part is `info_nce` with the neighbours as anchors and the
predictions as columns, so it gathers across processes like every batch-contrastive loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.losses.info_nce import check_temperature, info_nce


def _check_same_shape(z_a: Tensor, **others: Tensor) -> None:
    if z_a.ndim != 2:
        raise ValueError(f"z_a must be a 2-D (N, D) tensor, got shape {tuple(z_a.shape)}")
    for name, x in others.items():
        if x.shape != z_a.shape:
            raise ValueError(
                f"{name} must have the shape of z_a {tuple(z_a.shape)}, got {tuple(x.shape)}"
            )


@torch.no_grad()
def nearest_neighbours(z: Tensor, support: Tensor) -> Tensor:
    """Top-1 nearest neighbour of each row of `z` among the rows of `support` (cosine).

    Args:
        z: (N, D) embeddings; any float dtype (compared in float32).
        support: (K, D) candidate rows, K >= 1 (NNCLR's support set).

    Returns:
        (N, D) float32 rows of `support`, L2-normalised, row i the one most similar to z_i
        (the first of equal ones); no gradient.

    Raises:
        ValueError: `z` or `support` is not 2-D, their widths differ, or `support` is empty.

    Example:
        >>> support = torch.eye(3)
        >>> nearest_neighbours(torch.tensor([[0.1, 2.0, 0.0]]), support)
        tensor([[0., 1., 0.]])
    """
    if z.ndim != 2:
        raise ValueError(f"z must be a 2-D (N, D) tensor, got shape {tuple(z.shape)}")
    if support.ndim != 2 or support.shape[1] != z.shape[1] or support.shape[0] < 1:
        raise ValueError(
            f"support must be (K, {z.shape[1]}) with K >= 1, got {tuple(support.shape)}"
        )
    with torch.autocast(z.device.type, enabled=False):
        rows = F.normalize(support.float(), dim=1)
        index = (F.normalize(z.float(), dim=1) @ rows.T).argmax(dim=1)
        return rows[index]


def nnclr_loss(
    z_a: Tensor,
    z_b: Tensor,
    *,
    p_a: Tensor,
    p_b: Tensor,
    support: Tensor,
    temperature: float | Tensor = 0.1,
    gather: bool = False,
) -> Tensor:
    """NNCLR's symmetric loss [1], algorithm 1:
    L(NN(z_a, Q), p_b) / 2 + L(NN(z_b, Q), p_a) / 2, with L(nn, p) the cross-entropy of
    normalize(nn) normalize(p)^T / tau against the identity (anchor nn_i, positive p_i, the
    other rows of p its negatives) and NN the top-1 cosine neighbour in the support set Q.

    Args:
        z_a: (N, D) projections of view a (only looked up: no gradient reaches them).
        z_b: (N, D) projections of view b.
        p_a: (N, D) predictions of view a (prediction MLP on z_a); the gradient flows here.
        p_b: (N, D) predictions of view b.
        support: (K, D) the support set Q (past projections, no gradient). K = 0: each
            projection is its own neighbour (the first step of a run, before anything is
            queued; [1]'s ablation "without support set").
        temperature: tau > 0 (0.1 in [1]).
        gather: use the predictions of every process as columns, with a gradient (see
            `info_nce`); every process must hold the same support set.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: shapes differ, temperature <= 0, or gather=True without torch.distributed.

    Prefer `info_nce` (or `nt_xent`) when each view's own embedding is the positive: NNCLR
    differs only by taking the positive from the support set.

    Example:
        >>> z_a, z_b, p_a, p_b = (torch.randn(8, 16) for _ in range(4))
        >>> loss = nnclr_loss(z_a, z_b, p_a=p_a, p_b=p_b, support=torch.randn(64, 16))

    [1] Dwibedi, Aytar, Tompson, Sermanet and Zisserman, "With a Little Help from My
        Friends: Nearest-Neighbor Contrastive Learning of Visual Representations",
        ICCV 2021.
    """
    _check_same_shape(z_a, z_b=z_b, p_a=p_a, p_b=p_b)
    check_temperature(temperature)
    if support.shape[0] == 0:
        nn_a, nn_b = z_a.detach(), z_b.detach()
    else:
        nn_a, nn_b = nearest_neighbours(z_a, support), nearest_neighbours(z_b, support)
    loss_a = info_nce(nn_a, p_b, temperature=temperature, gather=gather)
    loss_b = info_nce(nn_b, p_a, temperature=temperature, gather=gather)
    return (loss_a + loss_b) / 2
