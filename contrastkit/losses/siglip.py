"""SigLIP: the pairwise sigmoid loss for two towers (images and texts, users and items)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.nn.distributed import gather_with_grad, rank, require_distributed

__all__ = ["siglip_loss"]


def siglip_loss(
    image: Tensor,
    text: Tensor,
    *,
    logit_scale: float | Tensor,
    logit_bias: float | Tensor,
    gather: bool = False,
) -> Tensor:
    """Sigmoid loss of SigLIP [1]: every image-text pair is a binary classification.

    L = -1/|B| sum_i sum_j log sigmoid(z_ij (t x_i . y_j + b)), with x, y the L2-normalised
    embeddings, t the logit scale (exp of the learned t'), b the learned bias, z_ij = 1 for
    the matching pair (i == j) and -1 otherwise ([1], algorithm 1). No softmax couples the
    rows, so the loss is a plain sum over pairs normalised by the batch size |B|.

    With `gather`, the texts of every process are gathered with a gradient (as the InfoNCE
    losses here do) and this process's images meet them one process-sized block at a time,
    so the logits held at once are n x n, as in the paper's chunked implementation ([1],
    sec. 3.3, which passes the text blocks around a ring instead of gathering them). The
    returned loss is this process's share: the sum over its n images and all texts divided
    by n; averaging it over processes (DDP does so for the gradients) gives the loss of the
    whole global batch, normalised by the global batch size.

    Args:
        image: (N, D) image-tower embeddings (normalised here).
        text: (N, D) text-tower embeddings, row i the caption of image i.
        logit_scale: t > 0 (a float or scalar tensor, which may carry a gradient).
        logit_bias: b (a float or scalar tensor).
        gather: use the texts of every process (torch.distributed) as columns.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: shapes differ or are not 2-D, or gather=True without a process group.

    Prefer `info_nce(..., symmetric=True)` for CLIP's softmax loss; SigLIP does not need
    the whole batch in one softmax and works better at small batch sizes ([1], fig. 2).

    Example:
        >>> img, txt = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = siglip_loss(img, txt, logit_scale=10.0, logit_bias=-10.0)

    [1] Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023.
    """
    if image.ndim != 2 or text.shape != image.shape:
        raise ValueError(
            f"image and text must both be (N, D); got {tuple(image.shape)} and {tuple(text.shape)}"
        )
    if gather:
        require_distributed()
    n = image.shape[0]
    with torch.autocast(image.device.type, enabled=False):
        x = F.normalize(image.float(), dim=1)
        y = F.normalize(text.float(), dim=1)
        blocks = gather_with_grad(y).split(n) if gather else (y,)
        mine = rank() if gather else 0
        labels = 2 * torch.eye(n, device=x.device) - 1  # +1 on the diagonal, -1 elsewhere
        total = x.new_zeros(())
        for block, y_block in enumerate(blocks):
            logits = logit_scale * (x @ y_block.T) + logit_bias
            z = labels if block == mine else -torch.ones_like(logits)
            total = total - F.logsigmoid(z * logits).sum()
    return total / n
