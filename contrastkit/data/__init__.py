"""Readers that decode real data once into an in-memory `ImageDataset`."""

from __future__ import annotations

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.digits import load_digits
from contrastkit.data.folder import load_image_folder
from contrastkit.data.idx import load_fashion_mnist, read_idx
from contrastkit.data.registry import DATASETS, has_test_split, load_dataset

__all__ = [
    "DATASETS",
    "ImageDataset",
    "has_test_split",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_image_folder",
    "read_idx",
]
