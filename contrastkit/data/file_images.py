"""Images left on disk: a uint8 image tensor that decodes its rows from files when indexed.

`FileImages` stands where an in-memory (N, C, H, W) uint8 tensor stands in an
`ImageDataset`: it has `shape`, `dtype` and `ndim`, indexing it with positions or a slice
decodes those files (threads) into a tensor, and `take(index)` selects rows without
decoding. Every image is converted to the dataset's channels and resized to its size, with
the decoder the in-memory folder reader uses, so both paths give the same pixels.

A file that cannot be decoded when its turn comes is replaced by the previous readable
image of the same batch (or the next one) and reported by `decode_files`; the streaming
batch source counts and lists it in the run's skipped files.
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

__all__ = ["FileImages", "decode_files"]


def decode_files(
    paths: list[str], channels: int, size: tuple[int, int], threads: int = 1
) -> tuple[Tensor, list[tuple[str, str]]]:
    """Decode `paths` into one (B, C, H, W) uint8 tensor.

    Returns:
        The images and the (path, reason) of files that could not be read; each of those
        rows holds a copy of a readable image of the batch.

    Raises:
        DataFormatError: no file of the batch could be read.
    """
    mode = "L" if channels == 1 else "RGB"
    decode = lambda p: try_decode(Path(p), mode, size)  # noqa: E731
    if threads > 1 and len(paths) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(decode, paths))
    else:
        results = [decode(p) for p in paths]
    bad = [(p, r) for p, r in zip(paths, results, strict=True) if isinstance(r, str)]
    good = [i for i, r in enumerate(results) if not isinstance(r, str)]
    if not good:
        raise DataFormatError(f"none of {len(paths)} image files could be read: {bad[0]}")
    out = np.empty((len(paths), size[0], size[1], channels), dtype=np.uint8)
    last = good[0]
    for i, r in enumerate(results):
        last = last if isinstance(r, str) else i
        out[i] = results[last].reshape(size[0], size[1], channels)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous(), bad


class FileImages:
    """N image files read as a (N, C, H, W) uint8 tensor, one batch at a time.

    Args:
        root: the folder the paths are relative to.
        files: N paths relative to `root`.
        channels: 1 or 3; every image is converted.
        size: (height, width); every image is resized (bilinear, as the in-memory reader).
        threads: decoding threads when indexed in the main process.
    """

    dtype = torch.uint8
    ndim = 4

    def __init__(
        self, root: str | Path, files: list[str], channels: int, size: tuple[int, int],
        threads: int | None = None,
    ) -> None:  # fmt: skip
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.root = str(root)
        self.files = files if isinstance(files, list) else list(files)  # shared, not copied
        self.channels, self.size = channels, (int(size[0]), int(size[1]))
        self.threads = threads or min(8, os.cpu_count() or 1)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.files), self.channels, *self.size))

    def __len__(self) -> int:
        return len(self.files)

    @property
    def nbytes(self) -> int:
        """Bytes the images would take decoded in memory."""
        return len(self.files) * self.channels * self.size[0] * self.size[1]

    def paths(self, index: Tensor | list[int]) -> list[str]:
        """Absolute paths of the files at `index`."""
        rows = torch.as_tensor(index, dtype=torch.long).tolist()
        return [os.path.join(self.root, self.files[i]) for i in rows]

    def take(self, index: Tensor | list[int]) -> FileImages:
        """The files at `index`, still on disk."""
        rows = torch.as_tensor(index, dtype=torch.long).tolist()
        return FileImages(self.root, [self.files[i] for i in rows], self.channels, self.size,
                          self.threads)  # fmt: skip

    def decode(self, index: Tensor | list[int]) -> tuple[Tensor, list[tuple[str, str]]]:
        """(B, C, H, W) uint8 images at `index` and the files that could not be read."""
        return decode_files(self.paths(index), self.channels, self.size, self.threads)

    def __getitem__(self, index) -> Tensor:
        if isinstance(index, slice):
            index = list(range(*index.indices(len(self))))
        elif isinstance(index, int):
            return self.decode([index])[0][0]
        return self.decode(index)[0]

    def __repr__(self) -> str:
        return f"FileImages({len(self)} files in {self.root}, {tuple(self.shape[1:])})"
