"""The validation split of `contrastkit tune-views`: carved from the training items only.

The proxy runs train on the rest of the training items; the validation items are scored
against a bank drawn from those (kNN with labels), never against the test split, which the
search does not read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.splits import grouped_held_out, held_out
from contrastkit.data.text import TextData
from contrastkit.errors import ContrastkitError
from contrastkit.modalities.base import ItemSet, Prepared
from contrastkit.modalities.image import ImageData
from contrastkit.modalities.tensor import TensorData
from contrastkit.modalities.text import TextPrepared

__all__ = ["ValidationSplit", "carve_validation"]

SHARE, CAP, BANK = 0.2, 2000, 10000  # validation: 20% of the training items, at most 2,000


@dataclass
class ValidationSplit:
    """What the search trains on and what it scores with.

    Attributes:
        train: the modality's data without the validation items (each proxy run's data).
        queries: the validation items (labels where the data has them).
        bank: up to 10,000 of the training items, the kNN bank (labels where known).
        positives: text pairs: the validation anchors' positives (a retrieval corpus).
        train_ids, val_ids: item ids of the two sides (disjoint by construction).
    """

    train: Prepared
    queries: ItemSet
    bank: ItemSet
    positives: ItemSet | None
    train_ids: list[str]
    val_ids: list[str]


def _sizes(n: int) -> int:
    if n < 10:
        raise ContrastkitError(
            f"tune-views needs at least 10 training items to hold some out for validation, got {n}"
        )
    return min(CAP, round(SHARE * n))


def carve_validation(data: Prepared, seed: int, group: str | None = None) -> ValidationSplit:
    """Hold out 20% (at most 2,000) of the training items of `data` as validation; with
    `group` (a regular expression on image ids, `data.splits.group_keys`), whole groups
    (e.g. the letters of one font, the photos of one object) go to one side.

    Raises:
        ContrastkitError: fewer than 10 training items, data tune-views cannot split, or a
            group pattern on data other than images or that does not match an id.
    """
    g = torch.Generator().manual_seed(seed + 7)  # apart from the run's own splits
    if group is not None and not isinstance(data, ImageData):
        raise ContrastkitError(
            f"--group splits image datasets by their file paths; {data.description} has none"
        )
    if isinstance(data, ImageData):
        pool = data.pool  # the training items (monitor queries included), never the test
        size = _sizes(len(pool))
        if group is None:
            val, keep = held_out(len(pool), size, g)
        else:
            val, keep = grouped_held_out(pool.ids, size, g, group)
        train = pool.subset(keep.sort().values)
        proxy = ImageData(
            f"{train.name}: {len(train):,} train images (validation: {len(val):,})",
            train.labels, list(train.skipped), train, None, data.test, train,
        )  # fmt: skip
        queries, bank = pool.subset(val), train.subset(_bank(len(train), g))
        return ValidationSplit(
            proxy, _image_items(queries), _image_items(bank), None, list(train.ids),
            list(queries.ids),
        )  # fmt: skip
    if isinstance(data, TensorData):
        val, keep = held_out(len(data.train), _sizes(len(data.train)), g)
        keep = keep.sort().values
        labels = None if data.labels is None else data.labels[keep]
        proxy = TensorData(
            f"{len(keep):,} training items (validation: {len(val):,})", labels, data.skipped,
            data.train[keep], data.test, data.test_labels, data.classes,
        )  # fmt: skip
        bank = keep[_bank(len(keep), g)]
        return ValidationSplit(
            proxy, _tensor_items(data, val), _tensor_items(data, bank), None,
            _ids(keep), _ids(val),
        )  # fmt: skip
    if isinstance(data, TextPrepared):
        return _text_split(data, g)
    raise ContrastkitError(f"tune-views cannot hold out validation items of {data.description}")


def _bank(n: int, g: torch.Generator) -> torch.Tensor:
    return torch.randperm(n, generator=g)[:BANK].sort().values


def _ids(positions: torch.Tensor) -> list[str]:
    return [f"train/{i}" for i in positions.tolist()]


def _labels(y: torch.Tensor | None) -> np.ndarray | None:
    return None if y is None else y.numpy()


def _image_items(d: ImageDataset) -> ItemSet:
    return ItemSet(d.images, list(d.ids), _labels(d.labels), d.classes, name=d.name)


def _tensor_items(data: TensorData, pos: torch.Tensor) -> ItemSet:
    labels = None if data.labels is None else data.labels[pos]
    return ItemSet(data.train[pos], _ids(pos), _labels(labels), data.classes)


def _text_split(data: TextPrepared, g: torch.Generator) -> ValidationSplit:
    t = data.train
    val, keep = held_out(len(t), _sizes(len(t)), g)
    keep = keep.sort().values
    train, held = t.subset(keep.tolist()), t.subset(val.tolist())
    codes = {c: i for i, c in enumerate(data.classes or [])}

    def label_codes(d: TextData) -> torch.Tensor | None:
        if d.label is None or not codes:
            return None
        return torch.tensor([codes[x] for x in d.label], dtype=torch.int64)

    proxy = TextPrepared(
        f"{len(train):,} training {t.kind} (validation: {len(held):,})", label_codes(train),
        data.skipped, train, data.test, data.classes,
    )  # fmt: skip
    proxy.start = data.start
    bank_pos = _bank(len(train), g)
    bank = train.subset(bank_pos.tolist())

    def anchors(d: TextData, pos: torch.Tensor) -> ItemSet:
        y = label_codes(d)
        return ItemSet(list(d.anchor), _ids(pos), _labels(y), data.classes, texts=list(d.anchor))

    positives = None
    if held.positive is not None:
        positives = ItemSet(list(held.positive), _ids(val), texts=list(held.positive))
    return ValidationSplit(
        proxy, anchors(held, val), anchors(bank, keep[bank_pos]), positives, _ids(keep), _ids(val)
    )
