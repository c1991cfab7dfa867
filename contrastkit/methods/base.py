"""What the trainer sees of a method: `training_step(batch) -> Output` and `on_step_end`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.evaluate.geometry import normalized_std as embedding_std

__all__ = ["Batch", "Method", "Output", "embedding_std", "encode_views", "encoder_dim"]


@dataclass
class Batch:
    """One training batch.

    Attributes:
        views: V tensors (B, ...) of views, row i of each from item i; for text, V dicts
            of token tensors (B, L) (columns of pairs and triplets, or SimCSE copies).
        labels: (B,) int64 labels when the data has them (unused by self-supervised methods).
        index: (B,) int64 positions of the items in the dataset (for logs and debugging).
        negatives: given hard negatives, a (B, ...) tensor or token dict: row i is a
            negative of item i and a candidate for every anchor (text triplets); None
            without. Only methods with `uses_negatives` read it.
        scores: (B,) float gold similarity of each pair (scored text pairs); None without.
            Only methods with `needs_scores` read it.
    """

    views: list[Tensor] | list[dict[str, Tensor]]
    labels: Tensor | None = None
    index: Tensor | None = None
    negatives: Tensor | dict[str, Tensor] | None = None
    scores: Tensor | None = None


@dataclass
class Output:
    """What a training step returns.

    Attributes:
        loss: scalar tensor to back-propagate.
        metrics: floats to log (loss terms, collapse indicators); computed without grad.
        embeddings: encoder representations (B, D) of two views of the same items, for the
            trainer's collapse monitor (std, effective rank, alignment, uniformity).
        backward_done: the step already back-propagated its loss (gradient caching); the
            trainer only steps the optimiser.
    """

    loss: Tensor
    metrics: dict[str, float] = field(default_factory=dict)
    embeddings: tuple[Tensor, Tensor] | None = None
    backward_done: bool = False


class Method(nn.Module):
    """Base class of self-supervised methods.

    A method owns its encoder (the network whose features are kept after training),
    heads, momentum copies and queues (as submodules and buffers, so checkpoints hold
    them). Subclasses implement `training_step`; `on_step_end` runs after each applied
    optimiser step (after backward). `training_step` changes no state of its own: queue
    writes, momentum updates and counters wait for `on_step_end`, so a step the trainer
    skips as non-finite leaves the method as it was (the trainer restores the one state a
    forward pass writes, normalisation statistics; see `contrastkit.train.rollback`).
    Constructor arguments after `encoder` are keyword-only; the typed ones are the keys of
    the `method` config section.

    Class attributes:
        name: the name `contrastkit train --method` takes.
        summary: one line for `contrastkit methods`.
        needs_labels: the method uses `batch.labels` (supervised).
        min_views: views per item the method needs.
        towers: encoders the method trains: 1, or 2 for two-tower methods (CLIP), whose
            views are [first tower's input, second tower's input].
        uses_negatives: the method uses `batch.negatives` (given hard negatives).
        needs_scores: the method trains on `batch.scores` (scored pairs: CoSENT, AnglE).
        modalities: the modalities it trains on; None: every modality with its `towers`.
        unused_parameters: some steps leave trainable parameters without a gradient (SwAV's
            frozen prototypes), which DistributedDataParallel must be told of.
    """

    name: str = "method"
    summary: str = ""
    needs_labels: bool = False
    min_views: int = 2
    towers: int = 1
    uses_negatives: bool = False
    needs_scores: bool = False
    modalities: tuple[str, ...] | None = None
    unused_parameters: bool = False

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        self.encoder = encoder

    def training_step(self, batch: Batch) -> Output:
        raise NotImplementedError

    def check_batch(self, batch: Batch) -> None:
        """Raise a clear error when the batch lacks what the method needs."""
        if len(batch.views) < self.min_views:
            raise ValueError(
                f"{type(self).__name__} needs at least {self.min_views} views per item, "
                f"got {len(batch.views)}"
            )
        if self.needs_labels and batch.labels is None:
            raise ValueError(f"{type(self).__name__} is supervised: the batch has no labels")
        if self.needs_scores and batch.scores is None:
            raise ValueError(
                f"{type(self).__name__} trains on scored pairs: the batch has no scores "
                "(give the data a score column)"
            )

    def represent(self, views: Sequence[Any]) -> tuple[list[Tensor], list[Tensor]]:
        """Per view, the encoder outputs h (B, D) and the loss inputs z (B, D').

        Methods whose loss couples the items of a batch only through z (the InfoNCE family)
        implement this with `objective`; they can then train with gradient caching.
        """
        raise NotImplementedError(f"{type(self).__name__} does not split into represent/objective")

    def objective(self, z: list[Tensor], batch: Batch) -> Tensor:
        """The loss of a batch from its loss inputs z (see `represent`)."""
        raise NotImplementedError(f"{type(self).__name__} does not split into represent/objective")

    @classmethod
    def supports_grad_cache(cls) -> bool:
        """True when the method implements `represent` and `objective`."""
        return cls.objective is not Method.objective and cls.represent is not Method.represent

    def represent_and_score(self, batch: Batch) -> Output:
        """`training_step` of a represent/objective method: one pass, loss, metrics."""
        self.check_batch(batch)
        h, z = self.represent(batch.views)
        loss = self.objective(z, batch)
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z[0])}
        return Output(loss, metrics, embeddings=(h[0], h[1]))

    @staticmethod
    def check_settings(params: dict[str, Any], batch_size: int) -> None:
        """Raise ValueError naming the argument when the method's arguments `params` do
        not fit the global `batch_size` (NNCLR's support set must hold a batch)."""

    def fixed_lr_parameters(self) -> list[nn.Parameter]:
        """Parameters the learning-rate schedule leaves at the base rate (none by default;
        SimSiam keeps its predictor's rate fixed, as its paper recommends)."""
        return []

    def on_step_end(self, progress: float) -> None:
        """Called after each applied optimiser step with training progress in [0, 1]: the
        place for state updates (EMA, queues, counters); never after a skipped step."""

    @torch.no_grad()
    def embed(self, x: Tensor) -> Tensor:
        """Frozen representation for downstream use: (B, ...) -> (B, D) encoder features."""
        return self.encoder(x)


def encoder_dim(encoder: nn.Module) -> int:
    """The encoder's `output_dim` (its representation size), or a clear error."""
    dim = getattr(encoder, "output_dim", None)
    if not isinstance(dim, int):
        raise ValueError(
            "encoder has no integer output_dim; wrap it with contrastkit.encoders.as_encoder()"
        )
    return dim


def head_dim(head: nn.Module, encoder: nn.Module, default: int) -> int:
    """Size of a head's output: its `output_dim`, the encoder's for an identity head, else
    `default` (the size the method's default head was built with)."""
    if hasattr(head, "output_dim"):
        return int(head.output_dim)
    return encoder_dim(encoder) if isinstance(head, nn.Identity) else default


def encode_views(
    fn: Callable[[Any], Tensor], views: Sequence[Tensor] | Sequence[Mapping[str, Tensor]]
) -> list[Tensor]:
    """Apply `fn` to every view, batching views of the same shape into one call.

    Args:
        fn: network, (B, ...) -> (B, D).
        views: V tensors (N, ...) (multi-crop views may have a different size), or V
            dicts of token tensors {"input_ids": (N, L), ...} (texts; L may differ).

    Returns:
        V tensors (N, D) in the order of `views`.
    """
    groups: dict[tuple, list[int]] = {}
    for i, v in enumerate(views):
        key = (
            tuple((k, tuple(t.shape)) for k, t in v.items()) if isinstance(v, Mapping) else v.shape
        )
        groups.setdefault(tuple(key), []).append(i)
    out: list[Tensor | None] = [None] * len(views)
    for index in groups.values():
        first = views[index[0]]
        if isinstance(first, Mapping):
            z = fn({k: torch.cat([views[i][k] for i in index], dim=0) for k in first})
        else:
            z = fn(torch.cat([views[i] for i in index], dim=0))
        for i, chunk in zip(index, z.chunk(len(index)), strict=True):
            out[i] = chunk
    return out  # type: ignore[return-value]
