"""Image-caption pairs in memory, a split that keeps related items together, and a CSV reader.

`ImageTextData` is what the CLIP pipeline trains and evaluates on: uint8 images, one caption
per image, optional class labels, and a `family` id per item (items of one family, such as
the skin-tone variants of one emoji, always land in the same split so held-out captions are
unseen). `load_caption_csv` reads a user's CSV of `image,caption[,label]` rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from contrastkit.errors import DataFormatError, DatasetNotFoundError

__all__ = [
    "ImageTextData",
    "caption_phrases",
    "decode_rgb",
    "load_caption_csv",
    "split_by_family",
]


@dataclass
class ImageTextData:
    """Images with one caption each.

    Attributes:
        images: (N, 3, H, W) uint8 RGB.
        captions: N non-empty strings.
        labels: (N,) int64 classes (for zero-shot and probe evaluation), or None.
        classes: class names indexed by label, or None.
        family: (N,) int64 ids; items sharing an id stay in one split.
        subgroups: per item a finer category name (emoji subgroups), or None.
        name: short name for logs.
    """

    images: torch.Tensor
    captions: list[str]
    labels: torch.Tensor | None = None
    classes: list[str] | None = None
    family: torch.Tensor | None = None
    subgroups: list[str] | None = None
    name: str = "image-text"
    ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(
                "images must be an (N, 3, H, W) uint8 tensor, got "
                f"{tuple(self.images.shape)} {self.images.dtype}"
            )
        n = self.images.shape[0]
        if len(self.captions) != n:
            raise ValueError(f"captions must have {n} entries, got {len(self.captions)}")
        for name in ("labels", "family"):
            value = getattr(self, name)
            if value is not None and value.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {tuple(value.shape)}")
        if self.family is None:
            self.family = torch.arange(n)
        if self.subgroups is not None and len(self.subgroups) != n:
            raise ValueError(f"subgroups must have {n} entries, got {len(self.subgroups)}")
        if not self.ids:
            self.ids = [str(i) for i in range(n)]

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, index: torch.Tensor) -> ImageTextData:
        """The items at `index` (int64 positions), in that order."""
        rows = index.tolist()
        return ImageTextData(
            images=self.images[index],
            captions=[self.captions[i] for i in rows],
            labels=self.labels[index] if self.labels is not None else None,
            classes=self.classes,
            family=self.family[index],
            subgroups=[self.subgroups[i] for i in rows] if self.subgroups is not None else None,
            name=self.name,
            ids=[self.ids[i] for i in rows],
        )


def split_by_family(
    data: ImageTextData, test_fraction: float = 0.2, seed: int = 0
) -> tuple[ImageTextData, ImageTextData]:
    """Hold out a random `test_fraction` of the families (not of the items).

    Returns:
        (train, test) subsets; no family has items in both.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    families = data.family.unique()
    if len(families) < 2:
        raise ValueError("split_by_family needs at least 2 families")
    g = torch.Generator().manual_seed(seed)
    shuffled = families[torch.randperm(len(families), generator=g)]
    n_test = min(max(1, round(test_fraction * len(families))), len(families) - 1)
    is_test = torch.isin(data.family, shuffled[:n_test])
    return data.subset(torch.nonzero(~is_test).flatten()), data.subset(
        torch.nonzero(is_test).flatten()
    )


def caption_phrases(captions: Sequence[str]) -> set[str]:
    """Each caption and each of its parts between "(", ")", ":" and ",", lower-cased.

    "waving hand: light skin tone (hand fingers open)" gives the whole caption, "waving
    hand", "light skin tone" and "hand fingers open": the strings a model trained on these
    captions has seen as a unit (zero-shot prompts must avoid them).
    """
    out = set()
    for caption in captions:
        text = " ".join(caption.lower().split())
        out.add(text)
        out.update(p.strip() for p in re.split(r"[():,]", text) if p.strip())
    return out


def decode_rgb(image: Image.Image, size: int) -> np.ndarray:
    """A Pillow image as (size, size, 3) uint8 RGB; transparency is composited on white."""
    image = image.convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
    canvas.alpha_composite(image)
    rgb = canvas.convert("RGB")
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(rgb, dtype=np.uint8)


def load_caption_csv(
    path: str | Path,
    *,
    size: int = 32,
    image_column: str = "image",
    caption_column: str = "caption",
) -> ImageTextData:
    """Read a CSV with a header row and columns `image`, `caption` and optionally `label`.

    Image paths are relative to the CSV's folder (or absolute). Rows with the same caption
    form one family (kept in one split).

    Args:
        path: the CSV file.
        size: images are resized to (size, size) RGB.

    Raises:
        DatasetNotFoundError: the CSV does not exist.
        DataFormatError: a missing column, an empty caption, or an image that is missing or
            unreadable (the message names the file, line and field).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"captions file {path} does not exist")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        for column in (image_column, caption_column):
            if column not in header:
                raise DataFormatError(
                    f"{path}: line 1 (header) has no column {column!r}; expected columns "
                    f"{image_column!r} and {caption_column!r} (optional 'label'), got {header}"
                )
        rows = list(reader)
    if not rows:
        raise DataFormatError(f"{path}: no rows after the header; expected image,caption rows")
    images, captions, labels = [], [], []
    for line, row in enumerate(rows, start=2):
        caption = (row.get(caption_column) or "").strip()
        if not caption:
            raise DataFormatError(
                f"{path}: line {line}: field {caption_column!r} is empty; expected a caption"
            )
        name = (row.get(image_column) or "").strip()
        file = Path(name) if Path(name).is_absolute() else path.parent / name
        if not name or not file.is_file():
            raise DataFormatError(
                f"{path}: line {line}: field {image_column!r}: image file {name!r} does not "
                f"exist (looked for {file})"
            )
        try:
            with Image.open(file) as img:
                images.append(decode_rgb(img, size))
        except Exception as e:  # any decoder failure is the user's file, said clearly
            raise DataFormatError(
                f"{path}: line {line}: image {name!r} cannot be read as an image ({e})"
            ) from e
        captions.append(caption)
        labels.append((row.get("label") or "").strip())
    return ImageTextData(
        images=torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(),
        captions=captions,
        **_label_fields(labels),
        family=_ids(captions),
        name=path.stem,
        ids=[r[image_column] for r in rows],
    )


def _ids(keys: Sequence[str]) -> torch.Tensor:
    """(N,) int64 ids, one per distinct key, in order of first appearance."""
    seen: dict[str, int] = {}
    return torch.tensor([seen.setdefault(k, len(seen)) for k in keys], dtype=torch.int64)


def _label_fields(labels: list[str]) -> dict:
    """labels/classes for the dataclass when every row has a label, else nothing."""
    if not all(labels):
        return {}
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    return {"labels": torch.tensor([index[x] for x in labels]), "classes": classes}
