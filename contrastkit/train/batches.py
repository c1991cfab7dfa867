"""Batch sources: what the trainer draws each step, whatever the modality.

A source has a length, an `order(epoch_seed)` of item positions for one epoch (consecutive
`batch_size` slices are batches) and `batch(index, generator) -> Batch` that reads the
items and makes the views. `ImageBatches` wraps an `ImageDataset` and batched tensor views;
`TextBatches` wraps `TextData`, word-level views and a tokenizer, with an order that keeps
duplicate texts out of one batch (a duplicate is a false negative for in-batch losses).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.m_per_class import check_m_per_class, m_per_class_order
from contrastkit.data.text import TextData
from contrastkit.methods.base import Batch
from contrastkit.train import ddp
from contrastkit.views.text import TextViews

__all__ = ["BatchSource", "ImageBatches", "TextBatches", "no_duplicate_order"]


@runtime_checkable
class BatchSource(Protocol):
    """What `Trainer.fit` accepts besides an `ImageDataset`."""

    def __len__(self) -> int: ...

    def order(self, seed: int, batch_size: int) -> Tensor: ...

    def batch(self, index: Tensor, generator: torch.Generator) -> Batch: ...


def random_order(seed: int, n: int) -> Tensor:
    """A permutation of range(n) drawn from `seed`."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


class ImageBatches:
    """Images as uint8 tensors, views made batched on `device` (channels-last if asked).

    With `m_per_class` each batch holds m items of each of batch_size / m classes
    (`m_per_class_order`); else the order is a plain shuffle.
    """

    def __init__(
        self,
        data: ImageDataset,
        views: Callable[[Tensor, torch.Generator], list[Tensor]],
        *,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
        m_per_class: int | None = None,
    ) -> None:
        self.data, self.views = data, views
        self.device, self.channels_last = torch.device(device), channels_last
        self.m_per_class = m_per_class

    def __len__(self) -> int:
        return len(self.data)

    def order(self, seed: int, batch_size: int) -> Tensor:
        if self.m_per_class is None:
            return random_order(seed, len(self.data))
        check_m_per_class(self.data.labels, self.m_per_class, batch_size, ddp.world_size())
        return m_per_class_order(self.data.labels, self.m_per_class, batch_size, seed)  # type: ignore[arg-type]

    def read(self, index: Tensor) -> Tensor:
        """(B, C, H, W) uint8 images at `index`."""
        return self.data.images[index]

    def batch(self, index: Tensor, generator: torch.Generator) -> Batch:
        x = self.read(index).to(self.device, non_blocking=True)
        views = self.views(x, generator)
        if self.channels_last:
            views = [v.contiguous(memory_format=torch.channels_last) for v in views]
        labels = self.data.labels[index] if self.data.labels is not None else None
        return Batch(views, labels, index)


def no_duplicate_order(keys: Sequence[Sequence[str]], batch_size: int, seed: int) -> Tensor:
    """A random order whose consecutive `batch_size` slices share no key.

    Args:
        keys: per item, the strings that must be unique within a batch (its texts).
        batch_size: items per batch.
        seed: seeds the shuffle.

    Returns:
        (N,) int64 permutation; items that cannot be placed without a clash (too many
        copies of one text) are moved to the end, where the trainer's last partial batch
        drops them.
    """
    queue = deque(random_order(seed, len(keys)).tolist())
    placed: list[int] = []
    while queue:
        batch: list[int] = []
        seen: set[str] = set()
        clashed: list[int] = []
        while queue and len(batch) < batch_size:
            i = queue.popleft()
            if seen.isdisjoint(keys[i]):
                batch.append(i)
                seen.update(keys[i])
            else:
                clashed.append(i)
        placed += batch
        if len(batch) < batch_size:  # nothing left to fill a batch with: clashes go last
            placed += clashed
            break
        queue.extendleft(reversed(clashed))  # first in line for the next batch
    return torch.tensor(placed, dtype=torch.int64)


class TextBatches:
    """Texts, pairs or triplets; views tokenised per column.

    With single texts, each batch holds `views.n_views` views of every text (SimCSE: the
    text twice; its dropout makes them differ). With pairs the columns are the views:
    [anchor, positive], each optionally edited by `views` first. A triplet's negative column
    becomes `batch.negatives` (given hard negatives) when `negatives` is True, else it is
    not used. Scored pairs put their scores into `batch.scores` (CoSENT, AnglE).

    Args:
        data: the texts (`load_texts`).
        tokenize: texts -> token tensors (`TextEncoder.tokenize`).
        views: word-level views for single texts (default: SimCSE copies); for pairs, an
            optional edit applied to each column (its n_views is ignored).
        unique_batches: keep duplicate texts out of a batch.
        negatives: put the negative column of triplets into `batch.negatives`.
    """

    def __init__(
        self,
        data: TextData,
        tokenize: Callable[[Sequence[str]], Mapping[str, Tensor]],
        *,
        views: TextViews | None = None,
        unique_batches: bool = True,
        negatives: bool = False,
    ) -> None:
        self.data, self.tokenize = data, tokenize
        self.views = views if views is not None else TextViews.simcse()
        self.unique_batches = unique_batches
        self.negatives = data.negative if negatives else None
        columns = [c for c in (data.anchor, data.positive, self.negatives) if c is not None]
        self.columns = columns
        self._keys = list(zip(*columns, strict=True)) if unique_batches else None
        self.labels = _label_tensor(data.label)
        self.scores = None if data.score is None else torch.tensor(data.score, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.data)

    def order(self, seed: int, batch_size: int) -> Tensor:
        if self._keys is None:
            return random_order(seed, len(self.data))
        return no_duplicate_order(self._keys, batch_size, seed)

    def batch(self, index: Tensor, generator: torch.Generator) -> Batch:
        rows = index.tolist()
        if len(self.columns) == 1:
            texts = [self.columns[0][i] for i in rows]
            edited = self.views(texts, generator)
            if not self.views.ops:  # identical copies: tokenise once
                tokens = dict(self.tokenize(texts))
                views = [tokens] * len(edited)
            else:
                views = [dict(self.tokenize(v)) for v in edited]
        else:
            views = []
            for column in self.columns:
                texts = [column[i] for i in rows]
                if self.views.ops:
                    texts = self.views(texts, generator)[0]
                views.append(dict(self.tokenize(texts)))
        negatives = views.pop() if self.negatives is not None else None
        labels = self.labels[index] if self.labels is not None else None
        scores = self.scores[index] if self.scores is not None else None
        return Batch(views, labels, index, negatives, scores)


def _label_tensor(labels: list[str] | None) -> Tensor | None:
    if labels is None:
        return None
    names = {name: i for i, name in enumerate(sorted(set(labels)))}
    return torch.tensor([names[x] for x in labels], dtype=torch.int64)
