"""Images streamed from disk: decoded in DataLoader worker processes ahead of the trainer,
turned into views by the same batched tensor views as in-memory images.

Each epoch's batches are known when the trainer asks for the epoch's `order` (consecutive
`batch_size` slices of one shuffled order, this process's share of each), so the workers
decode them in that order, a few batches ahead. The position in the epoch is the trainer's
step, which checkpoints hold: a resumed run asks for batch `step % steps_per_epoch` and the
workers start there, so resuming is exact. Decoding uses the in-memory reader's decoder
and views use the trainer's generator in the main process, so a streamed run sees the
same batches as an in-memory run with the same seed.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.lazy_images import LazyImages
from contrastkit.train import ddp
from contrastkit.train.batches import ImageBatches

__all__ = ["StreamingImageBatches", "default_workers"]


def default_workers() -> int:
    """Decoding processes when `data.workers` is not set: half the cores, 1 to 4."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


class _Planned(Dataset):
    """Item i: (i, decoded images of planned batch i, (id, reason) of unreadable items)."""

    def __init__(self, images: LazyImages, plan: list[Tensor]) -> None:
        self.images, self.plan = images, plan

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i: int) -> tuple[int, Tensor, list[tuple[str, str]]]:
        x, bad = self.images.decode(self.plan[i], threads=1)  # one thread in each worker
        return i, x, bad


def _one_thread(_: int) -> None:
    torch.set_num_threads(1)  # decoding workers leave the cores to the model


class StreamingImageBatches(ImageBatches):
    """An `ImageBatches` over an `ImageDataset` whose images are `LazyImages` (image
    files, tar shards, an Arrow column).

    Args:
        data: the dataset (images in their store).
        views: turns a uint8 batch into the method's views.
        device: where views are made; batches are pinned when it is a GPU.
        channels_last: channels-last views.
        workers: decoding processes (0: decode in the training process).
        prefetch: batches each worker decodes ahead.
        skipped: a list the (id, reason) of unreadable items found while training are
            appended to.
        m_per_class: class-balanced batches (see `ImageBatches`); the labels of a store are
            read when it is listed, so the plan is as balanced as in memory.
    """

    def __init__(
        self,
        data: ImageDataset,
        views: Callable[[Tensor, torch.Generator], list[Tensor]],
        *,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
        workers: int | None = None,
        prefetch: int = 4,
        skipped: list[tuple[str, str]] | None = None,
        m_per_class: int | None = None,
    ) -> None:
        if not isinstance(data.images, LazyImages):
            raise TypeError("StreamingImageBatches needs images in a store (LazyImages)")
        super().__init__(
            data, views, device=device, channels_last=channels_last, m_per_class=m_per_class
        )
        self.workers = default_workers() if workers is None else workers
        self.prefetch = prefetch
        self.skipped = skipped if skipped is not None else []
        self._plan: list[Tensor] = []
        self._first: dict[int, int] = {}
        self._iter = None
        self._next = -1

    def order(self, seed: int, batch_size: int) -> Tensor:
        order = super().order(seed, batch_size)  # labels are listed: balance is exact
        steps = len(order) // batch_size
        self._plan = [
            ddp.local_slice(order[i * batch_size : (i + 1) * batch_size], batch_size)
            for i in range(steps)
        ]
        self._first = {int(b[0]): i for i, b in enumerate(self._plan) if b.numel()}
        self._iter, self._next = None, -1  # the old epoch's workers stop when collected
        return order

    def _start(self, position: int) -> None:
        loader = DataLoader(
            _Planned(self.data.images, self._plan),  # type: ignore[arg-type]
            batch_size=None,
            sampler=range(position, len(self._plan)),
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=self.prefetch if self.workers else None,
            worker_init_fn=_one_thread if self.workers else None,
        )
        self._iter, self._next = iter(loader), position

    def read(self, index: Tensor) -> Tensor:
        """(B, C, H, W) uint8 images at `index`: decoded ahead by the workers when `index`
        is the next batch of the epoch's plan."""
        position = self._first.get(int(index[0]), -1) if index.numel() else -1
        if position < 0 or not torch.equal(self._plan[position], index):
            x, bad = self.data.images.decode(index)  # not a planned batch: decode it here
        else:
            if self._iter is None or position != self._next:
                self._start(position)  # a new epoch, or resumed mid-epoch
            i, x, bad = next(self._iter)
            self._next = i + 1
        if bad:  # reported by their ids, as the in-memory readers do
            self.skipped.extend(bad)
            warnings.warn(
                f"skipped {len(bad)} unreadable image(s): {bad[0][0]} ({bad[0][1]}); "
                "their rows repeat a readable image",
                stacklevel=2,
            )
        return x
