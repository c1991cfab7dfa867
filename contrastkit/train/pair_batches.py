"""A batch source of image-caption pairs for two-tower methods (CLIP).

Each batch holds two views of the same items: an augmented image batch (B, 3, h, w) and
the tokenised captions {"input_ids": (B, L), "attention_mask": (B, L), ...}.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor

from contrastkit.methods.base import Batch
from contrastkit.train.batches import no_duplicate_order, random_order

__all__ = ["PairBatches"]

ImageViewFn = Callable[[Tensor, torch.Generator], list[Tensor]]


class PairBatches:
    """Images and their captions, drawn as [image view, caption tokens] batches.

    Args:
        images: (N, C, H, W) uint8 images (kept on the CPU).
        captions: N strings, caption i describes image i.
        tokenize: texts -> token tensors (`TextEncoder.tokenize`).
        image_views: `views(x, generator) -> [view, ...]` (e.g. an `ImageViews` with one
            view); the first view is used.
        labels: optional (N,) int64 labels, passed through to the batch.
        unique_captions: keep identical captions out of one batch (each would be a false
            negative of the other in the in-batch softmax).
        device: where image views are made.

    Example:
        >>> source = PairBatches(images, captions, encoder.tokenize, image_views=views)
        >>> image, tokens = source.batch(torch.arange(8), torch.Generator()).views
    """

    def __init__(
        self,
        images: Tensor,
        captions: Sequence[str],
        tokenize: Callable[[Sequence[str]], Mapping[str, Tensor]],
        *,
        image_views: ImageViewFn,
        labels: Tensor | None = None,
        unique_captions: bool = True,
        device: torch.device | str = "cpu",
    ) -> None:
        if images.ndim != 4 or images.shape[0] == 0:
            raise ValueError(
                f"images must be a non-empty (N, C, H, W) tensor, got {tuple(images.shape)}"
            )
        if len(captions) != images.shape[0]:
            raise ValueError(
                f"captions must have one entry per image ({images.shape[0]}), got {len(captions)}"
            )
        if labels is not None and labels.shape != (images.shape[0],):
            raise ValueError(
                f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}"
            )
        self.images, self.captions, self.labels = images, list(captions), labels
        self.tokenize, self.image_views = tokenize, image_views
        self.device = torch.device(device)
        self._keys = [(c,) for c in self.captions] if unique_captions else None

    def __len__(self) -> int:
        return self.images.shape[0]

    def order(self, seed: int, batch_size: int) -> Tensor:
        if self._keys is None:
            return random_order(seed, len(self))
        return no_duplicate_order(self._keys, batch_size, seed)

    def batch(self, index: Tensor, generator: torch.Generator) -> Batch:
        x = self.images[index].to(self.device)
        image = self.image_views(x, generator)[0]
        tokens = {
            k: v.to(self.device)
            for k, v in self.tokenize([self.captions[i] for i in index.tolist()]).items()
        }
        labels = self.labels[index] if self.labels is not None else None
        return Batch([image, tokens], labels, index)
