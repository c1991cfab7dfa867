"""Images left in their store: a uint8 image tensor that decodes its rows when indexed.

`LazyImages` stands where an in-memory (N, C, H, W) uint8 tensor stands in an
`ImageDataset`: it has `shape`, `dtype` and `ndim`, indexing it with positions or a slice
decodes those items into a tensor, and `take(index)` selects rows without decoding. A
store says how to fetch an item's encoded image (`_fetch`: a file path or its bytes), the
rest is shared: every image is converted to the dataset's channels and resized to its size
with `try_decode`, the decoder of the in-memory readers, so both paths give the same pixels.
Stores: image files (`FileImages`), WebDataset tar shards (`TarImages`), the image column
of a Hugging Face dataset (`ArrowImages`).

An item that cannot be decoded when its turn comes is replaced by the previous readable
image of the same batch (or the next one) and reported by its id; the streaming batch
source counts and lists it in the run's skipped items.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from contrastkit.data.decode import try_decode
from contrastkit.errors import DataFormatError

__all__ = ["LazyImages", "decode_items", "probe_images"]

Encoded = Path | bytes | str  # a file, its bytes, or the reason it could not be fetched
PROBE = 32  # items decoded to find the size and channels of a store


def decode_items(
    sources: list[Encoded], ids: list[str], channels: int, size: tuple[int, int],
    threads: int = 1,
) -> tuple[Tensor, list[tuple[str, str]]]:  # fmt: skip
    """Decode B encoded images into one (B, C, H, W) uint8 tensor.

    Returns:
        The images and the (id, reason) of items that could not be read; each of those
        rows holds a copy of a readable image of the batch.

    Raises:
        DataFormatError: no item of the batch could be read.
    """
    mode = "L" if channels == 1 else "RGB"
    decode = lambda s: s if isinstance(s, str) else try_decode(s, mode, size)  # noqa: E731
    if threads > 1 and len(sources) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(decode, sources))
    else:
        results = [decode(s) for s in sources]
    bad = [(i, r) for i, r in zip(ids, results, strict=True) if isinstance(r, str)]
    good = [i for i, r in enumerate(results) if not isinstance(r, str)]
    if not good:
        raise DataFormatError(f"none of {len(sources)} images could be read: {bad[0]}")
    out = np.empty((len(sources), size[0], size[1], channels), dtype=np.uint8)
    last = good[0]
    for i, r in enumerate(results):
        last = last if isinstance(r, str) else i
        out[i] = results[last].reshape(size[0], size[1], channels)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous(), bad


def probe_images(
    sources: list[Encoded], size: tuple[int, int] | None, channels: int | None, where: str
) -> tuple[tuple[int, int], int]:
    """(height, width) and channels of a store from its first readable items (colour if
    any of them is), unless given.

    Raises:
        DataFormatError: none of them readable.
    """
    arrays = [
        a for s in sources[:PROBE]
        if not isinstance(s, str) and not isinstance(a := try_decode(s, None, None), str)
    ]  # fmt: skip
    if not arrays:
        raise DataFormatError(f"none of the first {min(PROBE, len(sources))} images in {where} "
                              "could be read")  # fmt: skip
    if channels is None:
        channels = 3 if any(a.ndim == 3 for a in arrays) else 1
    if size is None:
        size = (int(arrays[0].shape[0]), int(arrays[0].shape[1]))
    return size, channels


class LazyImages:
    """N stored images read as a (N, C, H, W) uint8 tensor, one batch at a time.

    Args:
        ids: N item ids (reported for items that cannot be read).
        channels: 1 or 3; every image is converted.
        size: (height, width); every image is resized (bilinear, as the in-memory readers).
        threads: decoding threads when indexed in the main process.
    """

    dtype = torch.uint8
    ndim = 4

    def __init__(
        self, ids: list[str], channels: int, size: tuple[int, int], threads: int | None = None
    ) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.ids = ids if isinstance(ids, list) else list(ids)  # shared, not copied
        self.channels, self.size = channels, (int(size[0]), int(size[1]))
        self.threads = threads or min(8, os.cpu_count() or 1)

    def _fetch(self, rows: list[int]) -> list[Encoded]:
        """The encoded images at `rows` (a path or bytes), or why one cannot be fetched."""
        raise NotImplementedError

    def take(self, index: Tensor | list[int]) -> LazyImages:
        """The items at `index`, still in their store."""
        raise NotImplementedError

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.ids), self.channels, *self.size))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """Bytes the images would take decoded in memory."""
        return len(self.ids) * self.channels * self.size[0] * self.size[1]

    def decode(
        self, index: Tensor | list[int], threads: int | None = None
    ) -> tuple[Tensor, list[tuple[str, str]]]:
        """(B, C, H, W) uint8 images at `index` and the (id, reason) of unreadable items."""
        rows = torch.as_tensor(index, dtype=torch.long).tolist()
        return decode_items(self._fetch(rows), [self.ids[i] for i in rows], self.channels,
                            self.size, threads or self.threads)  # fmt: skip

    def __getitem__(self, index) -> Tensor:
        if isinstance(index, slice):
            index = list(range(*index.indices(len(self))))
        elif isinstance(index, int):
            return self.decode([index])[0][0]
        return self.decode(index)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images, {tuple(self.shape[1:])})"
