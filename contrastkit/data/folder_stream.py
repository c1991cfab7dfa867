"""An image folder too large for memory: listed, not decoded (`FileImages`), and the rule
that chooses between the in-memory and the streaming reader (`data.max_memory`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.file_images import FileImages
from contrastkit.data.folder import (
    IMAGE_EXTENSIONS,
    _find_files,
    parse_image_options,
    training_folder,
)
from contrastkit.data.lazy_images import PROBE, probe_images
from contrastkit.errors import ConfigError, DataFormatError, DatasetNotFoundError

__all__ = ["decoded_bytes", "parse_bytes", "stream_image_folder"]

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
          "t": 1e12, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40}  # fmt: skip


def parse_bytes(value: str | int | float) -> int:
    """ "4GB", "512MiB", "0" or a number of bytes -> int bytes.

    Raises:
        ConfigError: not a size.
    """
    if isinstance(value, int | float):
        return int(value)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(value))
    if m is None or m.group(2).lower() not in _UNITS:
        raise ConfigError(f"{value!r} is not a size; write e.g. 4GB, 512MiB or 0")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _probe(root: Path, files: list[Path], size, channels) -> tuple[tuple[int, int], int]:
    """(height, width) and channels of a folder from its first readable files."""
    return probe_images(list(files[:PROBE]), size, channels, str(root))


def decoded_bytes(path: str | Path, image_size, channels) -> int:
    """Bytes a folder's images would take decoded in memory (from its first files' size);
    0 when `path` is not a folder of readable images (the reader then says what is wrong)."""
    size, channels = parse_image_options(image_size, channels)
    root = Path(path).expanduser()
    if not root.is_dir():
        return 0
    root = training_folder(root)
    try:
        files = _find_files(root)[0]
        if not files:
            return 0
        size, channels = _probe(root, files, size, channels)
    except DataFormatError:
        return 0
    return len(files) * channels * size[0] * size[1]


def stream_image_folder(
    path: str | Path, image_size: int | tuple[int, int] | None = None, channels: int | None = None
) -> ImageDataset:
    """An image folder listed, not decoded: an `ImageDataset` whose images are `FileImages`.

    Layouts (a train/ and test/ folder: its train/ part), labels, ids and classes are those
    of `load_image_folder`. The size and the
    channels come from `image_size` / `channels` or, when not given, from the first
    readable files (colour if any of the first 32 is); every image is converted and
    resized to them when read. Unreadable files are found when their batch is decoded
    (they are counted and replaced then, see `FileImages`), except empty files, which are
    skipped here.

    Raises:
        DatasetNotFoundError: no such folder.
        DataFormatError: no image file, or none of the first files readable.
    """
    size, channels = parse_image_options(image_size, channels)
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder not found: {root}")
    name = root.resolve().name or str(root)
    root = training_folder(root)
    files, labels, classes = _find_files(root)
    if not files:
        raise DataFormatError(f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in {root}")
    sizes = np.array([p.stat().st_size for p in files])
    kept = np.nonzero(sizes > 0)[0].tolist()
    ids = [p.relative_to(root).as_posix() for p in files]
    skipped = [(ids[i], "empty file") for i in np.nonzero(sizes == 0)[0].tolist()]
    size, channels = _probe(root, [files[i] for i in kept], size, channels)
    kept_ids = [ids[i] for i in kept]  # one list: the dataset's ids are the file names
    return ImageDataset(
        images=FileImages(root, kept_ids, channels, size),  # type: ignore[arg-type]
        labels=None if labels is None else torch.tensor([labels[i] for i in kept]),
        ids=kept_ids,
        classes=classes,
        name=name,
        skipped=skipped,
    )
