"""The MATE desktop's icon theme by context: colour 32x32 icons of actions, applications,
devices, file types, places, status and more.

Debian package mate-icon-theme (LGPL-3+ or CC-BY-SA-3.0). Every distinct 32x32 PNG under
/usr/share/icons/mate/32x32/<context>/ is one image, composited on white; the context
folder is the class, kept when it has at least `MIN_PER_SIDE` icons in each split. The
theme's aliases (symbolic links) and icons drawn twice under other names are counted once.
Icons whose names start alike ("folder-music", "folder-remote") share a group, so they
lie on one side of the fixed split.
"""

from __future__ import annotations

import hashlib
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

__all__ = ["ICON_DIR", "MIN_PER_SIDE", "icon_group", "load_mate_icons"]

ICON_DIR = Path("/usr/share/icons/mate/32x32")
MIN_PER_SIDE = 3
SIZE = 32
_INSTALL = "apt-get install -y mate-icon-theme"
_PREFIXES = ("gnome-mime-", "gnome-", "mate-", "stock_", "gtk-", "application-x-")


def icon_group(path: Path) -> str:
    """The first word of the icon name without desktop prefixes: "folder", "audio"."""
    name = path.stem.lower()
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    return re.split(r"[-_.]", name)[0] or path.stem.lower()


def _distinct(root: Path) -> list[Path]:
    """One file per drawn icon: links and byte-identical copies left out, sorted."""
    seen, out = set(), []
    for path in sorted(root.glob("*/*.png")):
        if path.is_symlink():
            continue
        digest = hashlib.sha1(path.read_bytes()).digest()
        if digest not in seen:
            seen.add(digest)
            out.append(path)
    return out


def load_mate_icons(
    split: str = "train", *, icon_dir: str | Path = ICON_DIR, cache: bool = True
) -> ImageDataset:
    """The MATE theme's distinct 32x32 icons by context, split by icon-name group.

    With mate-icon-theme 1.26.0: 446 distinct icons in 10 contexts, 6 of which have at
    least 3 on each side (actions, apps, devices, mimetypes, places, status): 385 images,
    288 train and 97 test.

    Args:
        split: "train", "test" or "all".
        icon_dir: the theme's 32x32 folder.
        cache: reuse (and write) the decoded images under $CONTRASTKIT_CACHE.

    Returns:
        ImageDataset with images (N, 3, 32, 32) uint8, labels the context (classes in
        sorted order), ids "<context>/<file name>", name "mate-icons".

    Raises:
        DatasetNotFoundError: no icons in `icon_dir` (the message says what to install).
        ConfigError: unknown split.

    Example:
        >>> load_mate_icons("test").images.shape  # (97, 3, 32, 32)
    """
    root = Path(icon_dir)
    found = _distinct(root) if root.is_dir() else []
    if not found:
        raise DatasetNotFoundError(f"no PNG icons in {root}; install them with: {_INSTALL}")
    context = [p.parent.name for p in found]
    groups = [icon_group(p) for p in found]
    classes = classes_on_both_sides(context, groups, MIN_PER_SIDE)
    kept = [i for i, c in enumerate(context) if c in classes]
    files = [found[i] for i in kept]
    arrays = cached_arrays(
        "mate-icons", source_digest(files), lambda: square_images(files, SIZE), cache
    )
    return split_dataset(
        arrays["images"],
        labels=[classes.index(context[i]) for i in kept],
        groups=[groups[i] for i in kept],
        ids=[f"{context[i]}/{found[i].name}" for i in kept],
        classes=classes,
        name="mate-icons",
        split=split,
    )
