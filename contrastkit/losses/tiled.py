"""Memory-efficient contrastive cross-entropy: the (R, K) similarity matrix is computed and
back-propagated in (tile x tile) blocks and never held whole.

The loss of row i is logsumexp_j(s_ij) - mean_p s_ip over its positives p, with
s_ij = a_i . c_j * inv_t and the row's own column (if any) left out of the sum. Forward
keeps an online (running max, running sum) log-sum-exp per row; backward recomputes each
block and uses the saved log-sum-exp, so memory is O((R + K) * D + tile^2) instead of
O(R * K). Value and gradients equal the plain computation up to float rounding.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Above this many similarity entries (R * K) the InfoNCE losses switch to tiles by default
#: (2**26 float32 entries = 256 MiB for the logits alone, more for softmax and gradient).
AUTO_TILE_ELEMENTS = 2**26
DEFAULT_TILE = 4096


#: The fixed-shift path needs exp(-2 * bound) to stay a normal float32 (bound = the largest
#: possible |logit|, from the row and column norms); above it the online maximum is used.
_MAX_FIXED_SHIFT_RANGE = 80.0


def _mask_self(s: Tensor, self_index: Tensor | None, r0: int, c0: int) -> None:
    """Set each row's own column in block s (r, k) to -inf, in place."""
    if self_index is None:
        return
    local = self_index[r0 : r0 + s.shape[0]] - c0
    inside = (local >= 0) & (local < s.shape[1])
    if inside.any():
        rows = torch.nonzero(inside).squeeze(1)
        s.index_put_((rows, local[rows]), torch.tensor(float("-inf"), dtype=s.dtype))


def _lse_online(scaled: Tensor, columns: Tensor, self_index: Tensor | None, tile: int) -> Tensor:
    """Row log-sum-exp with a running maximum (any logit range)."""
    lse = torch.empty(scaled.shape[0], dtype=scaled.dtype, device=scaled.device)
    for r0 in range(0, scaled.shape[0], tile):
        a = scaled[r0 : r0 + tile]
        run_max = torch.full((a.shape[0],), float("-inf"), device=a.device)
        run_sum = torch.zeros(a.shape[0], device=a.device)
        for c0 in range(0, columns.shape[0], tile):
            s = a @ columns[c0 : c0 + tile].T
            _mask_self(s, self_index, r0, c0)
            new_max = torch.maximum(run_max, s.max(dim=1).values)
            safe = torch.where(torch.isfinite(new_max), new_max, torch.zeros_like(new_max))
            run_sum = run_sum * torch.exp(run_max - safe) + s.sub_(safe[:, None]).exp_().sum(1)
            run_max = new_max
        lse[r0 : r0 + tile] = run_max + torch.log(run_sum)
    return lse


def _lse_fixed_shift(
    scaled: Tensor, columns: Tensor, self_index: Tensor | None, tile: int, bound: float
) -> Tensor:
    """Row log-sum-exp shifted by `bound` >= every |logit|: one pass, in place per block."""
    total = torch.zeros(scaled.shape[0], dtype=scaled.dtype, device=scaled.device)
    for r0 in range(0, scaled.shape[0], tile):
        a = scaled[r0 : r0 + tile]
        for c0 in range(0, columns.shape[0], tile):
            s = a @ columns[c0 : c0 + tile].T
            _mask_self(s, self_index, r0, c0)
            total[r0 : r0 + tile] += s.sub_(bound).exp_().sum(1)
    return total.log_().add_(bound)


class _TiledLogSumExp(torch.autograd.Function):
    """(R, D) anchors, (K, D) columns, scalar inv_t -> (R,) logsumexp_j(a_i . c_j * inv_t).

    Every block is one matrix product of the temperature-scaled anchors with the columns,
    then in-place element-wise work on that one buffer (no temporaries of block size).
    """

    @staticmethod
    def forward(ctx, anchors, columns, inv_t, self_index, tile):  # type: ignore[override]
        scaled = anchors * inv_t
        bound = float(
            scaled.norm(dim=1).max() * columns.norm(dim=1).max()
        )  # Cauchy-Schwarz: |logit| <= bound
        if 2 * bound <= _MAX_FIXED_SHIFT_RANGE:
            lse = _lse_fixed_shift(scaled, columns, self_index, tile, bound)
        else:
            lse = _lse_online(scaled, columns, self_index, tile)
        ctx.save_for_backward(anchors, columns, inv_t, lse)
        ctx.self_index, ctx.tile = self_index, tile
        return lse

    @staticmethod
    def backward(ctx, grad_lse):  # type: ignore[override]
        anchors, columns, inv_t, lse = ctx.saved_tensors
        self_index, tile = ctx.self_index, ctx.tile
        scaled = anchors * inv_t
        grad_a = torch.zeros_like(anchors) if ctx.needs_input_grad[0] else None
        grad_c = torch.zeros_like(columns) if ctx.needs_input_grad[1] else None
        grad_t = torch.zeros((), device=anchors.device)
        for r0 in range(0, anchors.shape[0], tile):
            a = anchors[r0 : r0 + tile]
            g = grad_lse[r0 : r0 + tile, None]
            ga = a * g  # (r, D): the upstream gradient folded into the anchors
            for c0 in range(0, columns.shape[0], tile):
                c = columns[c0 : c0 + tile]
                p = scaled[r0 : r0 + tile] @ c.T  # logits, then softmax weights in place
                _mask_self(p, self_index, r0, c0)
                p.sub_(lse[r0 : r0 + tile, None]).exp_()
                pc = p @ c  # (r, D) = sum_j p_ij c_j
                if grad_a is not None:
                    grad_a[r0 : r0 + tile] += pc * g * inv_t
                if grad_c is not None:
                    grad_c[c0 : c0 + tile] += (p.T @ ga) * inv_t
                grad_t += (ga * pc).sum()  # sum_ij g_i p_ij a_i . c_j
        grad_inv_t = grad_t.reshape(inv_t.shape) if ctx.needs_input_grad[2] else None
        return grad_a, grad_c, grad_inv_t, None, None


def tiled_cross_entropy(
    anchors: Tensor,
    columns: Tensor,
    positives: Tensor,
    self_index: Tensor | None,
    temperature: float | Tensor,
    tile: int = DEFAULT_TILE,
) -> Tensor:
    """Mean over rows and positives of -log softmax(anchors @ columns.T / t)[positive],
    with column self_index[i] left out of row i's softmax, computed in tiles.

    Args:
        anchors: (R, D) float32 (normalised by the caller).
        columns: (K, D) float32.
        positives: (R, P) column index of each row's positives.
        self_index: (R,) column of the row itself, or None.
        temperature: t > 0, float or scalar tensor (may require grad).
        tile: block side; memory per block is tile^2 floats.
    """
    if tile < 1:
        raise ValueError(f"tile must be >= 1, got {tile}")
    inv_t = (
        (1.0 / temperature)
        if isinstance(temperature, Tensor)
        else torch.tensor(1.0 / temperature, device=anchors.device)
    )
    inv_t = inv_t.to(anchors.dtype).reshape(())
    lse = _TiledLogSumExp.apply(anchors, columns, inv_t, self_index, tile)
    positive = (anchors[:, None, :] * columns[positives]).sum(-1) * inv_t  # (R, P)
    return (lse[:, None] - positive).mean()
