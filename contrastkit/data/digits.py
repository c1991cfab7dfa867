"""scikit-learn's bundled 8x8 handwritten digits, a tiny real dataset for tests and demos."""

from __future__ import annotations

import numpy as np
import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.errors import ConfigError

TEST_FRACTION = 0.2
SPLIT_SEED = 0
_SPLITS = ("train", "test", "all")


def _split_index(target: np.ndarray, split: str) -> np.ndarray:
    """Sorted positions of `split` in the (N,) `target`: a stratified split, or all of them."""
    from sklearn.model_selection import train_test_split

    if split == "all":
        return np.arange(len(target))
    train, test = train_test_split(
        np.arange(len(target)), test_size=TEST_FRACTION, stratify=target, random_state=SPLIT_SEED
    )
    return np.sort(train if split == "train" else test)


def load_digits(split: str = "train") -> ImageDataset:
    """Load scikit-learn's 1,797 handwritten digits (8x8, 10 classes) as uint8 images.

    The split is a stratified 80/20 split with a fixed seed, so it is the same on every
    machine and run: 1,437 train and 360 test images.

    Args:
        split: "train", "test" or "all".

    Returns:
        ImageDataset with images (N, 1, 8, 8) uint8 (the original 0..16 values scaled by
        255 // 16, so 0..255), labels (N,) int64, ids "digits/<original index>", classes
        "0".."9" and name "digits".

    Raises:
        ConfigError: unknown split.

    Example:
        >>> load_digits("test").images.shape
        torch.Size([360, 1, 8, 8])
    """
    from sklearn.datasets import load_digits as sk_load_digits

    if split not in _SPLITS:
        raise ConfigError(f"split must be one of {', '.join(_SPLITS)} for digits, got {split!r}")
    bunch = sk_load_digits()
    index = _split_index(bunch.target, split)
    images = bunch.images[index].astype(np.int64) * 255 // 16
    return ImageDataset(
        images=torch.from_numpy(images.astype(np.uint8)).unsqueeze(1),
        labels=torch.from_numpy(bunch.target[index].astype(np.int64)),
        ids=[f"digits/{i}" for i in index.tolist()],
        classes=[str(d) for d in range(10)],
        name="digits",
    )
