"""Tux Paint's rubber stamps: colour drawings and photos of things, in the package's own
categories (animals, food, plants, town, vehicles, ...).

Debian package tuxpaint-stamps-default (GPL-2, Bill Kendrick and contributors). Every
PNG stamp under /usr/share/tuxpaint/stamps/<category>/... is one image (its SVG stamps
and sounds are not used), composited on white, padded to a square and scaled; the
top-level category is the class, kept when it has at least `MIN_PER_SIDE` PNG stamps in
each split.
Variants of one stamp ("frog", "frog-1"; "euro_1_euro", "euro_2_cent") share a group, so
they lie on one side of the fixed split.
"""

from __future__ import annotations

import re
from pathlib import Path

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.fixed_split import (
    cached_arrays,
    classes_on_both_sides,
    source_digest,
    split_dataset,
    square_images,
)
from contrastkit.errors import DatasetNotFoundError

__all__ = ["MIN_PER_SIDE", "STAMP_DIR", "load_tux_stamps", "stamp_group"]

STAMP_DIR = Path("/usr/share/tuxpaint/stamps")
MIN_PER_SIDE = 3
_INSTALL = "apt-get install -y tuxpaint-stamps-default"


def stamp_group(path: Path, root: Path) -> str:
    """The stamp's folder and the first word of its name: "animals/amphibians/frog"."""
    stem = re.split(r"[-_0-9]", path.stem.lower())[0] or path.stem.lower()
    return f"{path.parent.relative_to(root).as_posix()}/{stem}"


def load_tux_stamps(
    split: str = "train", size: int = 32, *, stamp_dir: str | Path = STAMP_DIR, cache: bool = True
) -> ImageDataset:
    """Tux Paint's PNG stamps by category, split by stamp group.

    With tuxpaint-stamps-default 2022.06.04: 802 PNG stamps in 17 categories, 10 of which
    have at least 3 on each side: 742 images, 599 train and 143 test.

    Args:
        split: "train", "test" or "all".
        size: image side in pixels.
        stamp_dir: the stamps folder.
        cache: reuse (and write) the scaled images under $CONTRASTKIT_CACHE.

    Returns:
        ImageDataset with images (N, 3, size, size) uint8, labels the category (classes in
        sorted order), ids the file paths relative to `stamp_dir`, name "tux-stamps".

    Raises:
        DatasetNotFoundError: no PNG stamps in `stamp_dir` (the message says what to install).
        ConfigError: unknown split.

    Example:
        >>> load_tux_stamps("test").images.shape  # (143, 3, 32, 32)
    """
    root = Path(stamp_dir)
    found = sorted(root.rglob("*.png")) if root.is_dir() else []
    if not found:
        raise DatasetNotFoundError(f"no PNG stamps in {root}; install them with: {_INSTALL}")
    category = [p.relative_to(root).parts[0] for p in found]
    groups = [stamp_group(p, root) for p in found]
    classes = classes_on_both_sides(category, groups, MIN_PER_SIDE)
    kept = [i for i, c in enumerate(category) if c in classes]
    files = [found[i] for i in kept]
    arrays = cached_arrays(
        "tux-stamps", source_digest(files, size), lambda: square_images(files, size), cache
    )
    return split_dataset(
        arrays["images"],
        labels=[classes.index(category[i]) for i in kept],
        groups=[groups[i] for i in kept],
        ids=[p.relative_to(root).as_posix() for p in files],
        classes=classes,
        name="tux-stamps",
        split=split,
    )
