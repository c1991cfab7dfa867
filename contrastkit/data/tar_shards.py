"""WebDataset-style tar shards: images read by seeking into the shards, never extracted.

A dataset is a folder of `*.tar` files, a single `.tar`, or a brace pattern such as
`shards/train-{000000..000009}.tar`. Following the WebDataset convention, the members of
a shard are grouped into items by key, the member's path up to the first dot of its file
name (`0001.jpg`, `0001.cls` -> item `0001`); an item's image is its jpg/jpeg/png/webp/bmp
member, its optional label the integer text of a `.cls` member or the "label" / "cls" key
of a `.json` member (an integer, or a class name). Shards are indexed once with `tarfile`
(each image's offset and length), so any item is read by one seek: batches can be drawn
in any order, exactly as from memory, and a resumed run picks up where it stopped.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.folder import parse_image_options
from contrastkit.data.lazy_images import PROBE, Encoded, LazyImages, probe_images
from contrastkit.errors import DataFormatError, DatasetNotFoundError

__all__ = [
    "TarImages",
    "expand_braces",
    "is_tar_source",
    "read_members",
    "shard_paths",
    "stream_tar_shards",
]

TAR_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp")
_BRACE = re.compile(r"\{([^{}]*)\}")


def expand_braces(pattern: str) -> list[str]:
    """`a-{000..002}.tar` -> a-000.tar, a-001.tar, a-002.tar; `{train,val}.tar` ->
    train.tar, val.tar (ranges keep the zero padding of their first bound)."""
    m = _BRACE.search(pattern)
    if m is None:
        return [pattern]
    body, head, tail = m.group(1), pattern[: m.start()], pattern[m.end() :]
    r = re.fullmatch(r"(\d+)\.\.(\d+)", body)
    if r:
        lo, hi = int(r.group(1)), int(r.group(2))
        parts = [str(i).zfill(len(r.group(1))) for i in range(lo, hi + 1)]
    else:
        parts = body.split(",")
    return [x for p in parts for x in expand_braces(head + p + tail)]


def is_tar_source(dataset: str | Path) -> bool:
    """Whether `dataset` names tar shards: a .tar file, a folder holding .tar files (even
    with image files beside them), or a brace pattern of .tar files (checked by name, not
    opened; compressed .tar.gz shards are not read: no random access)."""
    text = str(dataset)
    path = Path(text).expanduser()
    if path.is_dir():
        return any(p.suffix.lower() == ".tar" for p in path.iterdir())
    return text.lower().endswith(".tar") and (path.is_file() or bool(_BRACE.search(text)))


def shard_paths(dataset: str | Path) -> list[Path]:
    """The shards of a folder (sorted), a single .tar, or a brace pattern (in its order).

    Raises:
        DatasetNotFoundError: no shard there, or a shard of a pattern is missing.
    """
    path = Path(str(dataset)).expanduser()
    if path.is_dir():
        shards = sorted(p for p in path.iterdir() if p.suffix.lower() == ".tar")
        if not shards:
            raise DatasetNotFoundError(f"no .tar shards in {path}")
        return shards
    shards = [Path(p).expanduser() for p in expand_braces(str(dataset))]
    missing = [str(p) for p in shards if not p.is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"{len(missing)} of the {len(shards)} shards of {dataset} do not exist "
            f"(first: {missing[0]})"
        )
    return shards


def _label(name: str, payload: bytes) -> int | str | None:
    """The label of a .cls (integer text) or .json ("label" / "cls" key) member."""
    text = payload.decode("utf-8", errors="replace").strip()
    if name == "cls":
        return int(text)
    record = json.loads(text)
    value = record.get("label", record.get("cls")) if isinstance(record, dict) else None
    return value if isinstance(value, int | str) else None


def _index_shard(path: Path) -> Iterator[tuple[str, tuple[int, int] | None, int | str | None]]:
    """(key, (offset, length) of the image member or None, label or None) per item."""
    items: dict[str, list] = {}
    with tarfile.open(path) as tar:
        for m in tar:
            if not m.isfile():
                continue
            folder, _, base = m.name.rpartition("/")
            stem, dot, ext = base.partition(".")
            if not dot or stem.startswith("."):
                continue
            key, ext = f"{folder}/{stem}" if folder else stem, ext.lower()
            item = items.setdefault(key, [None, None])
            if ext in TAR_IMAGE_EXTENSIONS and item[0] is None:
                item[0] = (m.offset_data, m.size)
            elif ext in ("cls", "json") and item[1] is None:
                try:
                    item[1] = _label(ext, tar.extractfile(m).read())  # type: ignore[union-attr]
                except (ValueError, UnicodeDecodeError) as e:
                    raise DataFormatError(f"{path}: bad label in {m.name}: {e}") from None
    for key, (where, label) in items.items():
        yield key, where, label


def read_members(shards: list[str], places: list[tuple[int, int, int]]) -> list[Encoded]:
    """The bytes at (shard, offset, length) places, each shard opened once, or why not."""
    out: list[Encoded] = [b""] * len(places)
    by_shard: dict[int, list[int]] = {}
    for j, (s, _, _) in enumerate(places):
        by_shard.setdefault(int(s), []).append(j)
    for s, js in by_shard.items():
        try:
            with open(shards[s], "rb") as f:
                for j in sorted(js, key=lambda j: places[j][1]):
                    f.seek(int(places[j][1]))
                    out[j] = f.read(int(places[j][2]))
        except OSError as e:
            out = [f"{type(e).__name__}: {e}" if j in js else x for j, x in enumerate(out)]
    return out


class TarImages(LazyImages):
    """N images inside tar shards, read by seeking to their bytes.

    Args:
        shards: the shard files.
        shard: (N,) int64 shard of each item.
        offset: (N,) int64 byte offset of each image in its shard.
        length: (N,) int64 byte length of each image.
        ids: N ids, "shard-name/key".
        channels, size, threads: as `LazyImages`.
    """

    def __init__(
        self, shards: list[str], shard: np.ndarray, offset: np.ndarray, length: np.ndarray,
        ids: list[str], channels: int, size: tuple[int, int], threads: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__(ids, channels, size, threads)
        self.shards, self.shard, self.offset, self.length = shards, shard, offset, length

    def _fetch(self, rows: list[int]) -> list[Encoded]:
        return read_members(
            self.shards, [(self.shard[r], self.offset[r], self.length[r]) for r in rows]
        )

    def take(self, index: Tensor | list[int]) -> TarImages:
        """The items at `index`, still in their shards."""
        rows = torch.as_tensor(index, dtype=torch.long).numpy()
        return TarImages(self.shards, self.shard[rows], self.offset[rows], self.length[rows],
                         [self.ids[i] for i in rows.tolist()], self.channels, self.size,
                         self.threads)  # fmt: skip


def stream_tar_shards(
    dataset: str | Path,
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> ImageDataset:
    """Tar shards indexed, not decoded: an `ImageDataset` whose images are `TarImages`
    (`.decoded()` reads them into memory).

    Size and channels come from `image_size` / `channels` or from the first readable
    images. Items without an image member or with an empty one are skipped here (listed in
    `skipped`); unreadable images are found when decoded. Labels: every item's, or none;
    class names are the sorted names when labels are names, else None.

    Raises:
        DatasetNotFoundError: no shard.
        DataFormatError: a shard is not a tar file, no image, or only some items labelled.

    Example:
        >>> data = stream_tar_shards("shards/train-{000000..000009}.tar", image_size=64)
        >>> data.images.shape, data.ids[0]  # (N, 3, 64, 64), "train-000000/0001"
        >>> memory = data.decoded()  # (N, 3, 64, 64) uint8 tensor
    """
    size, channels = parse_image_options(image_size, channels)
    shards = shard_paths(dataset)
    rows, ids, labels, skipped = [], [], [], []
    for s, path in enumerate(shards):
        try:
            items = list(_index_shard(path))
        except tarfile.TarError as e:
            raise DataFormatError(f"{path} is not a readable tar shard: {e}") from None
        for key, where, label in items:
            item_id = f"{path.stem}/{key}"
            if where is None or where[1] == 0:
                skipped.append((item_id, "no image member" if where is None else "empty image"))
                continue
            rows.append((s, *where))
            ids.append(item_id)
            labels.append(label)
    if not rows:
        raise DataFormatError(f"no images ({', '.join(TAR_IMAGE_EXTENSIONS)}) in {dataset}")
    files = [str(p) for p in shards]
    size, channels = probe_images(read_members(files, rows[:PROBE]), size, channels,
                                  str(dataset))  # fmt: skip
    index = np.array(rows, dtype=np.int64)
    store = TarImages(files, index[:, 0], index[:, 1], index[:, 2], ids, channels, size)
    labelled = [x is not None for x in labels]
    if any(labelled) and not all(labelled):
        first = ids[labelled.index(False)]
        raise DataFormatError(
            f"{dataset}: {labelled.count(False)} items have no .cls/.json label (first: "
            f"{first}) while others do; label every item or none"
        )
    classes, codes = None, None
    if all(labelled):
        if any(isinstance(x, str) for x in labels):  # class names
            classes = sorted({str(x) for x in labels})
            code = {c: i for i, c in enumerate(classes)}
            codes = torch.tensor([code[str(x)] for x in labels])
        else:
            codes = torch.tensor([int(x) for x in labels])
    name = Path(str(dataset)).name if Path(str(dataset)).is_dir() else shards[0].parent.name
    return ImageDataset(
        images=store,  # type: ignore[arg-type]
        labels=codes,
        ids=ids,
        classes=classes,
        name=name or str(dataset),
        skipped=skipped,
    )
