"""The projector's metadata and thumbnails for items of every kind (a whole image run is in
tests/train/test_loggers.py)."""

from __future__ import annotations

import numpy as np
import torch

from contrastkit.modalities.base import ItemSet
from contrastkit.pipeline.projector import _metadata, _thumbnails


def test_metadata_columns_follow_what_the_items_have() -> None:
    labelled = ItemSet(torch.zeros(2, 3), ["a", "b"], np.array([1, 0]), ["cat", "dog"],
                       texts=["one\ttwo", "three\nfour"])  # fmt: skip
    header, rows = _metadata(labelled)
    assert header == ["id", "label", "text"]
    assert rows == [["a", "dog", "one two"], ["b", "cat", "three four"]]
    header, rows = _metadata(ItemSet(["x", "y"], ["i1", "i2"]))
    assert header is None and rows == ["i1", "i2"]  # one column: no header row


def test_thumbnails_only_for_uint8_images_and_shrunk_when_large() -> None:
    big = torch.randint(0, 256, (2, 3, 200, 100), dtype=torch.uint8)
    thumbs = _thumbnails(ItemSet(big, ["a", "b"]))
    assert thumbs is not None and thumbs.shape == (2, 3, 64, 32)
    assert thumbs.min() >= 0 and thumbs.max() <= 1
    grey = torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8)
    assert torch.equal(_thumbnails(ItemSet(grey, ["a", "b"])), grey.float() / 255)
    assert _thumbnails(ItemSet(torch.rand(2, 5), ["a", "b"])) is None  # table rows
    assert _thumbnails(ItemSet(["text"], ["a"])) is None
