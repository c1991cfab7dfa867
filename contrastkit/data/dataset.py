"""The in-memory image dataset every reader returns."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch

from contrastkit.data.decode import DECODE_BAR_DELAY
from contrastkit.data.lazy_images import LazyImages
from contrastkit.progress import bar


@dataclass
class ImageDataset:
    """Images decoded once into a uint8 tensor, with optional labels.

    Attributes:
        images: (N, C, H, W) uint8 tensor, C is 1 (grayscale) or 3 (RGB); or images
            left in their store (`contrastkit.data.lazy_images.LazyImages`: files, tar
            shards, an Arrow column), decoded when indexed.
        labels: (N,) int64 class indices, or None for unlabelled data.
        ids: N stable item ids (file paths relative to the folder, or "split/index").
        classes: class names indexed by label, or None.
        name: a short name for logs and reports.
        skipped: items that could not be read, as (id, reason) pairs.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    ids: list[str]
    classes: list[str] | None = None
    name: str = "images"
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"images must be a (N, C, H, W) uint8 tensor, got {tuple(self.images.shape)} "
                f"{self.images.dtype}"
            )
        n = self.images.shape[0]
        if self.labels is not None and self.labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {tuple(self.labels.shape)}")
        if len(self.ids) != n:
            raise ValueError(f"ids must have {n} entries, got {len(self.ids)}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> tuple[int, int]:
        return self.images.shape[2], self.images.shape[3]

    def subset(self, index: torch.Tensor | list[int]) -> ImageDataset:
        """The items at `index` (a 1-D tensor or list of positions), as a new dataset.

        `skipped` is carried over: it describes the source the items were read from.
        """
        index = torch.as_tensor(index, dtype=torch.long)
        if isinstance(self.images, LazyImages):  # images in their store stay there
            images = self.images.take(index)
            shared = self.images.ids is self.ids  # the store's ids are the dataset's: one list
            ids = images.ids if shared else [self.ids[i] for i in index.tolist()]
        else:
            images, ids = self.images[index], [self.ids[i] for i in index.tolist()]
        return ImageDataset(
            images=images,
            labels=None if self.labels is None else self.labels[index],
            ids=ids,
            classes=self.classes,
            name=self.name,
            skipped=list(self.skipped),  # files lost while reading the source, kept for reports
        )

    def decoded(self, chunk: int = 4096) -> ImageDataset:
        """This dataset with its images decoded into a (N', C, H, W) uint8 tensor, `chunk`
        images at a time (unchanged if they already are); unreadable items are left out
        (N' of N kept), listed in `skipped` and named in a warning."""
        if not isinstance(self.images, LazyImages):
            return self
        parts, bad = [], []
        with bar(len(self), f"decode {self.name}", unit="image", delay=DECODE_BAR_DELAY) as shown:
            for start in range(0, len(self), chunk):
                x, b = self.images.decode(list(range(start, min(start + chunk, len(self)))))
                parts.append(x)
                bad += b
                shown.update(len(x))
        unreadable = {i for i, _ in bad}
        keep = torch.tensor([i not in unreadable for i in self.ids])
        if bad:
            names = ", ".join(i for i, _ in bad[:5])
            warnings.warn(f"skipped {len(bad)} unreadable image(s) of {self.name}: {names} "
                          "(reasons in dataset.skipped)", stacklevel=2)  # fmt: skip
        return ImageDataset(
            images=torch.cat(parts)[keep],
            labels=None if self.labels is None else self.labels[keep],
            ids=[i for i in self.ids if i not in unreadable],
            classes=self.classes,
            name=self.name,
            skipped=[*self.skipped, *bad],
        )

    def channel_stats(self, max_items: int = 10000) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the pixels scaled to [0, 1] (of the first
        `max_items` images; std at least 1e-3), rounded to 4 decimals."""
        x = self.images[:max_items].float().div_(255)
        mean = x.mean(dim=(0, 2, 3)).tolist()
        std = x.std(dim=(0, 2, 3)).clamp(min=1e-3).tolist()
        return [round(v, 4) for v in mean], [round(v, 4) for v in std]
