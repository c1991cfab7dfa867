"""A quick look at an image source before training: how many items, what size, grey or
colour (from the decoded pixels, not the file mode), labelled or not.

`read_image_facts` lists the source (a named dataset, a folder, tar shards or a Hugging
Face dataset) the way the training reader does and decodes an evenly spaced sample of at
most `sample` images; what it finds is what data-aware defaults are chosen from
(`contrastkit.modalities.image_defaults`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.folder_stream import stream_image_folder
from contrastkit.data.lazy_images import LazyImages
from contrastkit.data.registry import DATASETS, has_test_split, indexed_source, load_dataset

__all__ = ["COLOUR_LEVELS", "COLOUR_SHARE", "ImageFacts", "is_colour", "read_image_facts"]

COLOUR_LEVELS = 16  # a pixel is coloured when its R, G and B differ by more than this (of 255)
COLOUR_SHARE = 0.01  # images are colour when more than this share of sampled pixels is


@dataclass(frozen=True)
class ImageFacts:
    """What a look at an image source found.

    Attributes:
        name: the source as given (a dataset name or a path).
        items: images in its training split (before a test split is held out of it).
        height: the image height the run reads (after `data.image_size`).
        width: the image width the run reads.
        channels: 1 when the sampled images are grey (every pixel R = G = B within
            `COLOUR_LEVELS`, or stored as grey), else 3; or the channels the user chose.
        stored_channels: the channels the reader would use by itself (from the file mode).
        classes: number of classes, or None for unlabelled data.
        test_split: the source has its own test split.
        sampled: images decoded to find `channels`.
    """

    name: str
    items: int
    height: int
    width: int
    channels: int
    stored_channels: int
    classes: int | None
    test_split: bool
    sampled: int = 0

    @property
    def side(self) -> int:
        """The shorter image side in pixels."""
        return min(self.height, self.width)

    @property
    def labelled(self) -> bool:
        return self.classes is not None


def is_colour(images: torch.Tensor) -> bool:
    """Whether (N, C, H, W) uint8 images hold colour: C == 3 and more than `COLOUR_SHARE`
    of their pixels have channels that differ by more than `COLOUR_LEVELS` (grey images
    saved as RGB, JPEG's rounding included, are not colour)."""
    if images.shape[1] == 1 or images.numel() == 0:
        return False
    x = images.to(torch.int16)
    spread = x.amax(dim=1) - x.amin(dim=1)  # (N, H, W)
    return bool((spread > COLOUR_LEVELS).float().mean() > COLOUR_SHARE)


def _source(dataset: str, data_dir, image_size, channels) -> ImageDataset:
    """The training split: listed (folders, tar shards, HF datasets) or decoded (named
    datasets; `dataset` is spelt as the config spells it)."""
    listed = indexed_source(dataset, "train", image_size, channels)  # None for the rest
    if listed is not None:
        return listed
    if dataset not in DATASETS and Path(dataset).expanduser().is_dir():
        return stream_image_folder(dataset, image_size, channels)
    return load_dataset(dataset, "train", data_dir=data_dir, image_size=image_size,
                        channels=channels)  # fmt: skip


def read_image_facts(
    dataset: str,
    *,
    data_dir: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    sample: int = 256,
) -> ImageFacts:
    """Look at an image source: count, size, grey or colour, labels.

    Args:
        dataset: a named dataset, an image folder, tar shards or a Hugging Face dataset.
        data_dir: where a named dataset's files are.
        image_size: the run's `data.image_size` (the size the facts report).
        channels: the run's `data.channels`; None: found from the decoded sample.
        sample: at most this many images, evenly spaced, are decoded.

    Returns:
        The facts (see `ImageFacts`).

    Raises:
        DatasetNotFoundError, DataFormatError: as the training reader would.
    """
    data = _source(dataset, data_dir, image_size, channels)
    n = len(data)
    stored = int(data.images.shape[1])
    found, sampled = stored if channels is None else channels, 0
    if channels is None and stored == 3:
        rows = torch.linspace(0, n - 1, min(sample, n)).round().long().unique()
        images = data.images
        pixels = images.decode(rows)[0] if isinstance(images, LazyImages) else images[rows]
        found, sampled = (3 if is_colour(pixels) else 1), len(rows)
    if data.labels is None:
        classes = None
    else:
        classes = len(data.classes) if data.classes else int(data.labels.unique().numel())
    height, width = (int(s) for s in data.images.shape[2:])
    return ImageFacts(
        name=dataset, items=n, height=height, width=width, channels=found,
        stored_channels=stored, classes=classes, test_split=has_test_split(dataset),
        sampled=sampled,
    )  # fmt: skip
