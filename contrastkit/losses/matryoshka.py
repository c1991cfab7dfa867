"""Matryoshka representation learning: one loss applied to nested prefixes of the embedding."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn

__all__ = ["MatryoshkaLoss", "check_nested_dims", "matryoshka_loss"]


def check_nested_dims(
    dims: Sequence[int], weights: Sequence[float] | None = None, *, name: str = "dims"
) -> list[float]:
    """Validate nested sizes and their weights; return the weights (1.0 each by default).

    Raises:
        ValueError: empty or non-positive or repeated sizes; weights of another length,
            negative, or all zero.
    """
    if not dims or any(int(d) != d or d < 1 for d in dims):
        raise ValueError(f"{name} must be a non-empty list of sizes >= 1, got {list(dims)}")
    if len(set(dims)) != len(dims):
        raise ValueError(f"{name} must not repeat a size, got {list(dims)}")
    if weights is None:
        return [1.0] * len(dims)
    if len(weights) != len(dims) or any(w < 0 for w in weights) or not any(weights):
        raise ValueError(
            f"{name.replace('dims', 'weights')} must be {len(dims)} numbers >= 0, not all 0 "
            f"(one per size in {name}), got {list(weights)}"
        )
    return [float(w) for w in weights]


def matryoshka_loss(
    loss_fn: Callable[..., Tensor],
    embeddings: Sequence[Tensor],
    dims: Sequence[int],
    weights: Sequence[float] | None = None,
    **kwargs: Any,
) -> Tensor:
    """Matryoshka loss [1]: sum_m c_m L(z[:, :m]) over the nested sizes m.

    Every embedding is cut to its first m features and the wrapped loss is applied to the
    cut embeddings; the weighted sum trains every prefix to be a usable embedding on its
    own, so the first 64 features of a 384-wide model work as a 64-wide model. The loss
    normalises its inputs itself (the InfoNCE family, SigLIP, CoSENT do), so each prefix
    is compared by its own cosine.

    Args:
        loss_fn: any loss of embeddings, called as loss_fn(*cut_embeddings, **kwargs).
        embeddings: tensors (..., D) that share their last dimension D (views, towers,
            anchors and positives).
        dims: nested sizes m, each <= D (the paper and sentence-transformers include D).
        weights: c_m per size (default 1.0 each, as in [1]).
        **kwargs: passed to `loss_fn` unchanged (temperature, scores, batch, ...).

    Returns:
        Scalar loss.

    Raises:
        ValueError: a size above D, or bad sizes / weights (`check_nested_dims`).

    Example:
        >>> from contrastkit.losses import info_nce
        >>> q, k = torch.randn(8, 64), torch.randn(8, 64)
        >>> loss = matryoshka_loss(info_nce, [q, k], [16, 32, 64], temperature=0.1)

    [1] Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022, eq. 1.
    """
    c = check_nested_dims(dims, weights)
    width = embeddings[0].shape[-1]
    if max(dims) > width:
        raise ValueError(f"dims {list(dims)} go beyond the embedding size {width}")
    total: Tensor | None = None
    for m, w in zip(dims, c, strict=True):
        if not w:
            continue
        term = w * loss_fn(*[z[..., :m] for z in embeddings], **kwargs)
        total = term if total is None else total + term
    assert total is not None  # check_nested_dims: some weight is > 0
    return total


class MatryoshkaLoss(nn.Module):
    """Module form of `matryoshka_loss` around a loss module or function.

    Args:
        loss: the wrapped loss (a module is registered as a submodule).
        dims: nested sizes.
        weights: one weight per size (default 1.0 each).

    Example:
        >>> loss_fn = MatryoshkaLoss(NTXentLoss(temperature=0.1), dims=[16, 32, 64])
        >>> loss = loss_fn(torch.randn(8, 64), torch.randn(8, 64))
    """

    def __init__(
        self,
        loss: Callable[..., Tensor],
        dims: Sequence[int],
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.weights = check_nested_dims(dims, weights)
        self.loss, self.dims = loss, [int(d) for d in dims]

    def forward(self, *embeddings: Tensor, **kwargs: Any) -> Tensor:
        return matryoshka_loss(self.loss, embeddings, self.dims, self.weights, **kwargs)

    def extra_repr(self) -> str:
        return f"dims={self.dims}, weights={self.weights}"
