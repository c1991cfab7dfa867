"""A small Fashion-MNIST folder for fast tests: the first items of the real IDX files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from contrastkit.data.idx import fashion_mnist_root, read_idx

_PREFIX = {"train": "train", "test": "t10k"}


def _write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip IDX file (type 0x08, big-endian dimensions)."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + np.ascontiguousarray(array).tobytes(), 1))


def write_fashion_subset(target: Path, n_train: int, n_test: int) -> Path | None:
    """Copy the first `n_train` / `n_test` Fashion-MNIST items into `target` as IDX files.

    Returns:
        `target`, or None when the Fashion-MNIST files are not installed.
    """
    root = fashion_mnist_root()
    if not (root / "train-images-idx3-ubyte.gz").is_file():
        return None
    target.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        prefix = _PREFIX[split]
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            array = read_idx(root / f"{prefix}-{kind}.gz")[:n]
            _write_idx(target / f"{prefix}-{kind}.gz", array.astype(np.uint8))
    return target
