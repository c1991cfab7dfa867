"""Matryoshka training for any method whose loss is a function of its embeddings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor

from contrastkit.losses.matryoshka import check_nested_dims, matryoshka_loss
from contrastkit.methods.base import Batch, Method

__all__ = ["MatryoshkaObjective", "with_matryoshka"]


class MatryoshkaObjective:
    """A method's `objective` applied to the first m features of its loss inputs, for each
    nested size m, weighted and summed (`contrastkit.losses.matryoshka_loss`).

    Args:
        objective: the method's own objective, (z, batch) -> loss.
        dims: nested sizes, each at most the loss inputs' width.
        weights: one per size (default 1.0 each).
    """

    def __init__(
        self,
        objective: Callable[[list[Tensor], Batch], Tensor],
        dims: Sequence[int],
        weights: Sequence[float] | None = None,
    ) -> None:
        self.weights = check_nested_dims(dims, weights, name="matryoshka_dims")
        self.objective, self.dims = objective, [int(d) for d in dims]

    def __call__(self, z: list[Tensor], batch: Batch) -> Tensor:
        width = z[0].shape[-1]
        if max(self.dims) > width:
            raise ValueError(
                f"matryoshka_dims {self.dims} go beyond the embedding size {width}; use sizes "
                f"up to {width}"
            )
        return matryoshka_loss(
            lambda *cut: self.objective(list(cut), batch), z, self.dims, self.weights
        )


def with_matryoshka(
    method: Method, dims: Sequence[int], weights: Sequence[float] | None = None
) -> Method:
    """`method` trained with the Matryoshka loss [1] on its loss inputs (in place).

    The method's `objective` is replaced, on this instance, by the weighted sum of the same
    objective on the first m features of every loss input, for m in `dims`; `represent`,
    the state dict and checkpoints are unchanged, and gradient caching still applies. The
    truncated embeddings are the ones the method's loss sees: the shared space of CLIP and
    SigLIP, the encoder's output for methods without a projection head (text; images with
    `model.proj_dim: 0`).

    Args:
        method: a method with `represent` and `objective` (SimCLR, CLIP, SigLIP, CoSENT, ...).
        dims: nested sizes, e.g. [64, 128, 256, 384].
        weights: one weight per size (default 1.0 each, as in [1]).

    Raises:
        ValueError: the method has no separate objective, or bad sizes / weights.

    [1] Kusupati et al., "Matryoshka Representation Learning", NeurIPS 2022.
    """
    if not method.supports_grad_cache():
        raise ValueError(
            f"matryoshka_dims needs a method whose loss is computed from its embeddings "
            f"(represent/objective); {type(method).__name__} is not one"
        )
    method.objective = MatryoshkaObjective(method.objective, dims, weights)  # type: ignore[method-assign]
    return method
