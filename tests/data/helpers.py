"""Small file writers shared by the data reader tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from PIL import Image

IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of `array`: header, then big-endian data."""
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    dims = np.asarray(array.shape, dtype=">u4").tobytes()
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, compress: bool) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_fake_fashion_mnist(root: Path, n_train: int = 6, n_test: int = 4) -> Path:
    """Tiny gzip IDX files under Fashion-MNIST's names: counting pixel values, labels i % 10."""
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.arange(n * 28 * 28, dtype=np.int64).reshape(n, 28, 28) % 256
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images.astype(np.uint8), compress=True)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels, compress=True)
    return root


def write_image(
    path: Path, size: tuple[int, int] = (8, 6), mode: str = "L", value: int | tuple = 100
) -> Path:
    """A solid image of `size` (width, height) in `mode`, saved by extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path, format=_format(path))
    return path


def _format(path: Path) -> str:
    ext = path.suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP"}[ext]
