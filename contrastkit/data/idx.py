"""IDX files (the MNIST family format), gzip or plain, and the Fashion-MNIST reader."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.errors import ConfigError, DataFormatError, DatasetNotFoundError

GZIP_MAGIC = b"\x1f\x8b"

# IDX type byte -> big-endian numpy dtype of the stored values.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

FASHION_MNIST_ENV = "CONTRASTKIT_FASHION_MNIST"
FASHION_MNIST_DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file into a numpy array.

    Gzip compression is detected from the file's first bytes, not its name. The header is
    two zero bytes, a type byte, the number of dimensions, then one big-endian uint32 per
    dimension; the big-endian data follows.

    Args:
        path: the IDX file, plain or gzip-compressed.

    Returns:
        An array of shape (d0, d1, ...) as given by the header, in native byte order, with
        dtype uint8, int8, int16, int32, float32 or float64 by the type byte. It owns its
        memory and is writable.

    Raises:
        DatasetNotFoundError: the file does not exist.
        DataFormatError: broken gzip stream, bad magic, unknown type code, or a data length
            that differs from the product of the dimensions.

    Example:
        >>> labels = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
        >>> labels.shape, labels.dtype
        ((10000,), dtype('uint8'))
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise DatasetNotFoundError(f"IDX file not found: {path}") from e
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataFormatError(f"{path}: broken gzip stream ({e})") from e

    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataFormatError(
            f"{path}: not an IDX file (the first two bytes must be zero, got {raw[:2].hex()!r})"
        )
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataFormatError(f"{path}: unknown IDX type code 0x{type_code:02X} (known: {known})")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataFormatError(
            f"{path}: header promises {ndim} dimensions ({header_len} header bytes) but the "
            f"file has only {len(raw)} bytes"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header_len
    if got != expected:
        dims = "x".join(map(str, shape)) or "scalar"
        raise DataFormatError(
            f"{path}: expected {expected} data bytes ({dims} of {dtype.name}), got {got}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # always a writable native-order copy


def fashion_mnist_root(root: str | Path | None = None) -> Path:
    """The Fashion-MNIST folder: `root`, else $CONTRASTKIT_FASHION_MNIST, else the Debian path."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(FASHION_MNIST_ENV)
    return Path(env).expanduser() if env else FASHION_MNIST_DEFAULT_ROOT


def _find_file(root: Path, stem: str) -> Path:
    """`root/stem.gz` or `root/stem`, whichever exists, else a DatasetNotFoundError."""
    for candidate in (root / f"{stem}.gz", root / stem):
        if candidate.is_file():
            return candidate
    raise DatasetNotFoundError(
        f"Fashion-MNIST file {root / stem}.gz (or {stem}) not found. Install it with "
        f"`sudo apt-get install dataset-fashion-mnist`, or set {FASHION_MNIST_ENV} / pass "
        f"--data-dir to a folder holding the four IDX files."
    )


def load_fashion_mnist(split: str = "train", root: str | Path | None = None) -> ImageDataset:
    """Load the Fashion-MNIST train (60,000) or test (10,000) split.

    Args:
        split: "train" or "test".
        root: folder with `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`. Defaults to
            $CONTRASTKIT_FASHION_MNIST, else /usr/share/datasets/fashion-mnist (Debian
            package `dataset-fashion-mnist`).

    Returns:
        ImageDataset with images (N, 1, 28, 28) uint8, labels (N,) int64 in 0..9, ids
        "train/00042", the 10 class names and name "fashion-mnist".

    Raises:
        ConfigError: unknown split.
        DatasetNotFoundError: a file is missing; the message says how to install it.
        DataFormatError: a file is malformed, or image and label counts differ.

    Example:
        >>> test = load_fashion_mnist("test")
        >>> test.images.shape, test.classes[9]
        (torch.Size([10000, 1, 28, 28]), 'Ankle boot')
    """
    if split not in _SPLIT_PREFIX:
        raise ConfigError(f"split must be 'train' or 'test' for fashion-mnist, got {split!r}")
    folder = fashion_mnist_root(root)
    prefix = _SPLIT_PREFIX[split]
    images_path = _find_file(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _find_file(folder, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataFormatError(
            f"{images_path}: expected (N, H, W) uint8 images, got {images.shape} {images.dtype}"
        )
    if labels.ndim != 1:
        raise DataFormatError(f"{labels_path}: expected (N,) labels, got shape {labels.shape}")
    if len(images) != len(labels):
        raise DataFormatError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and not 0 <= int(labels.min()) <= int(labels.max()) <= 9:
        raise DataFormatError(
            f"{labels_path}: labels span {int(labels.min())}..{int(labels.max())}, "
            f"outside 0..9 for Fashion-MNIST"
        )
    width = max(5, len(str(len(images) - 1)))
    return ImageDataset(
        images=torch.from_numpy(images).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        ids=[f"{split}/{i:0{width}d}" for i in range(len(images))],
        classes=list(FASHION_MNIST_CLASSES),
        name="fashion-mnist",
    )
