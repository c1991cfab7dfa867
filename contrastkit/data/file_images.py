"""Images left on disk as files: a `LazyImages` whose items are image files under a root.

A file that cannot be decoded when its turn comes is replaced by a readable image of the
same batch and reported by its path relative to the root (the dataset's id).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

from contrastkit.data.lazy_images import Encoded, LazyImages

__all__ = ["FileImages"]


class FileImages(LazyImages):
    """N image files read as a (N, C, H, W) uint8 tensor, one batch at a time.

    Args:
        root: the folder the paths are relative to.
        files: N paths relative to `root` (the items' ids).
        channels: 1 or 3; every image is converted.
        size: (height, width); every image is resized (bilinear, as the in-memory reader).
        threads: decoding threads when indexed in the main process.
    """

    def __init__(
        self, root: str | Path, files: list[str], channels: int, size: tuple[int, int],
        threads: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__(files, channels, size, threads)
        self.root = str(root)

    @property
    def files(self) -> list[str]:
        return self.ids

    def paths(self, index: Tensor | list[int]) -> list[str]:
        """Absolute paths of the files at `index`."""
        rows = torch.as_tensor(index, dtype=torch.long).tolist()
        return [os.path.join(self.root, self.ids[i]) for i in rows]

    def _fetch(self, rows: list[int]) -> list[Encoded]:
        return [Path(p) for p in self.paths(rows)]

    def take(self, index: Tensor | list[int]) -> FileImages:
        """The files at `index`, still on disk."""
        rows = torch.as_tensor(index, dtype=torch.long).tolist()
        return FileImages(self.root, [self.ids[i] for i in rows], self.channels, self.size,
                          self.threads)  # fmt: skip

    def __repr__(self) -> str:
        return f"FileImages({len(self)} files in {self.root}, {tuple(self.shape[1:])})"
