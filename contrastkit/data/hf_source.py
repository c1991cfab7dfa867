"""Hugging Face `datasets` on disk as a source of images or texts.

Accepted: a folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk` (its
"train" / "test" splits are used when present), an `.arrow` file, or a folder of `.arrow`
files (read as one dataset). Images come from the first column of `datasets.Image`
feature, read as encoded bytes from the memory-mapped Arrow table, so any row is a random
access (`ArrowImages`) and streaming gives the batches of memory; labels from a
`ClassLabel` column (its names are the classes) or an integer column named label/labels.
Texts come from string columns named as the text reader's columns (text, sentence,
sentence1/sentence2, anchor/positive/negative, ...). `datasets` is an optional dependency
(`pip install 'contrastkit[hf]'`), imported only when such a source is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.folder import parse_image_options
from contrastkit.data.lazy_images import PROBE, Encoded, LazyImages, probe_images
from contrastkit.data.text import TextData, texts_from_records
from contrastkit.errors import ContrastkitError, DataFormatError, DatasetNotFoundError

__all__ = [
    "ArrowImages",
    "hf_kind",
    "hf_splits",
    "is_hf_source",
    "load_hf_texts",
    "stream_hf_images",
]

_LABEL_NAMES = ("label", "labels")


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise ContrastkitError(
            "reading a Hugging Face dataset needs the datasets package: "
            "pip install 'contrastkit[hf]'"
        ) from None
    return datasets


def is_hf_source(path: str | Path) -> bool:
    """Whether `path` is a saved Hugging Face dataset, an .arrow file or a folder of them."""
    p = Path(str(path)).expanduser()
    if p.is_file():
        return p.suffix.lower() == ".arrow"
    if not p.is_dir():
        return False
    return _saved(p) or any(f.suffix.lower() == ".arrow" for f in p.iterdir())


def _saved(p: Path) -> bool:
    """Whether folder `p` was written by `Dataset` or `DatasetDict.save_to_disk`."""
    single = (p / "state.json").is_file() and (p / "dataset_info.json").is_file()
    return single or (p / "dataset_dict.json").is_file()


def hf_splits(path: str | Path) -> list[str]:
    """The splits of a saved `DatasetDict` (from dataset_dict.json), else ["train"]."""
    p = Path(str(path)).expanduser()
    try:
        return list(json.loads((p / "dataset_dict.json").read_text())["splits"])
    except (OSError, ValueError, KeyError, TypeError):
        return ["train"]


def _features(path: Path) -> dict[str, Any]:
    """The features (as JSON) of a saved dataset's first split, or of an .arrow file."""
    folder = path / hf_splits(path)[0] if (path / "dataset_dict.json").is_file() else path
    info = folder / "dataset_info.json"
    if info.is_file():
        return json.loads(info.read_text()).get("features") or {}
    return _open(path, None).features.to_dict()


def hf_kind(path: str | Path) -> str | None:
    """ "image" if a Hugging Face dataset at `path` has an Image column, "text" if it has
    string columns, else None (also for anything that is not such a dataset)."""
    p = Path(str(path)).expanduser()
    if not is_hf_source(p):
        return None
    try:
        features = _features(p)
    except (OSError, ValueError, DataFormatError):  # a folder that only looks like one
        return None
    if any(f.get("_type") == "Image" for f in features.values() if isinstance(f, dict)):
        return "image"
    strings = ("string", "large_string")
    if any(isinstance(f, dict) and f.get("dtype") in strings for f in features.values()):
        return "text"
    return None


def _open(path: str | Path, split: str | None) -> Any:
    """The `datasets.Dataset` of `split` (None: the first) at `path`.

    Raises:
        DatasetNotFoundError: nothing there.
        DataFormatError: not a saved dataset nor Arrow files, or no such split.
    """
    ds = _datasets()
    p = Path(str(path)).expanduser()
    if not p.exists():
        raise DatasetNotFoundError(f"no Hugging Face dataset at {p}")
    arrows = [p] if p.is_file() else sorted(p.glob("*.arrow"))
    if p.is_dir() and _saved(p):
        data = ds.load_from_disk(str(p))
    elif arrows and all(f.suffix.lower() == ".arrow" for f in arrows):
        try:
            data = ds.concatenate_datasets([ds.Dataset.from_file(str(f)) for f in arrows])
        except Exception as e:  # pyarrow's own errors: a file that is not Arrow
            raise DataFormatError(f"{p} holds no readable Arrow data: {e}") from None
    else:
        raise DataFormatError(
            f"{p} is not a Hugging Face dataset: no dataset_dict.json, state.json + "
            "dataset_info.json or .arrow file (write one with Dataset.save_to_disk)"
        )
    if isinstance(data, ds.DatasetDict):
        names = list(data)
        if split is None:
            split = "train" if "train" in names else names[0]
        if split not in names:
            raise DataFormatError(f"{p} has no {split!r} split; it has {', '.join(names)}")
        return data[split]
    if split not in (None, "train"):
        raise DataFormatError(f"{p} has no {split!r} split; it is one dataset (train)")
    return data


class ArrowImages(LazyImages):
    """N images of an Arrow table's image column, read as encoded bytes by row.

    Args:
        table: a `datasets.Dataset` holding only the image column, not decoded
            (`Image(decode=False)`: {"bytes", "path"} per row); memory-mapped.
        rows: (N,) int64 rows of `table`.
        ids: N ids, "split/row".
        channels, size, threads: as `LazyImages`.
    """

    def __init__(
        self, table: Any, rows: np.ndarray, ids: list[str], channels: int,
        size: tuple[int, int], threads: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__(ids, channels, size, threads)
        self.table, self.rows = table, rows
        self.column = table.column_names[0]

    def _fetch(self, rows: list[int]) -> list[Encoded]:
        cells = self.table[self.rows[rows].tolist()][self.column] if rows else []
        return [_encoded(c) for c in cells]

    def take(self, index: Tensor | list[int]) -> ArrowImages:
        """The rows at `index`, still in the table."""
        rows = torch.as_tensor(index, dtype=torch.long).numpy()
        return ArrowImages(self.table, self.rows[rows], [self.ids[i] for i in rows.tolist()],
                           self.channels, self.size, self.threads)  # fmt: skip


def _encoded(cell: Mapping | None) -> Encoded:
    """An Image cell's bytes, else its file, else why it has neither."""
    if not cell:
        return "empty image cell"
    if cell.get("bytes"):
        return bytes(cell["bytes"])
    path = cell.get("path")
    return Path(path) if path and Path(path).is_file() else f"no bytes and no file {path!r}"


def stream_hf_images(
    path: str | Path,
    split: str = "train",
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> ImageDataset:
    """The images of a Hugging Face dataset, not decoded: an `ImageDataset` whose images
    are `ArrowImages` (`.decoded()` reads them into memory). A dataset without splits is
    its "train" split.

    Raises:
        DataFormatError: not a dataset, no such split, or no Image column.
        ContrastkitError: `datasets` is not installed.

    Example:
        >>> data = stream_hf_images("my_dataset", "test", image_size=32)  # save_to_disk folder
        >>> data.images.shape, data.classes  # (N, C, 32, 32), the ClassLabel names
    """
    size, channels = parse_image_options(image_size, channels)
    data = _open(path, split if split != "train" or "train" in hf_splits(path) else None)
    image = next((n for n, f in data.features.items() if type(f).__name__ == "Image"), None)
    if image is None:
        raise DataFormatError(
            f"{path} has no image column (a datasets.Image feature); its columns are "
            f"{', '.join(data.column_names)}"
        )
    labels, classes = _labels(data)
    table = data.select_columns([image]).cast_column(image, _datasets().Image(decode=False))
    n = len(table)
    if n == 0:
        raise DataFormatError(f"{path}: the {split} split is empty")
    rows = np.arange(n, dtype=np.int64)
    ids = [f"{split}/{i}" for i in range(n)]
    probe = [_encoded(c) for c in table[: min(PROBE, n)][image]]
    size, channels = probe_images(probe, size, channels, str(path))
    p = Path(str(path)).expanduser()
    return ImageDataset(
        images=ArrowImages(table, rows, ids, channels, size),  # type: ignore[arg-type]
        labels=labels,
        ids=ids,
        classes=classes,
        name=p.stem if p.is_file() else p.resolve().name,
    )


def _labels(data: Any) -> tuple[Tensor | None, list[str] | None]:
    """Labels from a ClassLabel column (and its names), or an integer label/labels one."""
    for name, f in data.features.items():
        if type(f).__name__ == "ClassLabel":
            return torch.tensor(data[name], dtype=torch.long), list(f.names)
    for name, f in data.features.items():
        if name.lower() in _LABEL_NAMES and getattr(f, "dtype", "").startswith("int"):
            return torch.tensor(data[name], dtype=torch.long), None
    return None, None


def load_hf_texts(path: str | Path, columns: Mapping[str, str] | None = None) -> TextData:
    """The texts (or pairs, triplets, labelled texts) of a Hugging Face dataset's train
    split, columns found as the text reader finds them (see `load_texts`); a ClassLabel
    label is read as its class name.

    Raises:
        DataFormatError: not a dataset, or no text column.
        ContrastkitError: `datasets` is not installed.
    """
    data = _open(path, "train" if "train" in hf_splits(path) else None)
    named = {n: f for n, f in data.features.items() if type(f).__name__ == "ClassLabel"}
    records = data.to_list()
    for name, f in named.items():
        for r in records:
            r[name] = None if r[name] is None or r[name] < 0 else f.int2str(r[name])
    text = texts_from_records(records, data.column_names, columns, str(path))
    text.source = str(path)
    return text
