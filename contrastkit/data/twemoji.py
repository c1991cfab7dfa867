"""Twitter's emoji artwork (Twemoji) in the nine Unicode emoji categories: colour images
of faces, people, animals, food, places, activities, objects, symbols and flags.

npm package emoji-datasource-twitter (the 64 px PNG per emoji; artwork CC-BY 4.0 by
Twitter and the Twemoji contributors, the package MIT). Each emoji with a Twitter image
(skin-tone variants not included) is one image, composited on white and scaled; its
category is the class ("Component", the hair and skin swatches, is left out). These
drawings are not the Noto Color Emoji of the image-text set. Gender variants of one emoji
("man surfing", "woman surfing", "surfer") share a group, so they lie on one side of the
fixed split.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.fixed_split import (
    cached_arrays,
    classes_on_both_sides,
    source_digest,
    split_dataset,
    square_images,
)
from contrastkit.errors import DataFormatError, DatasetNotFoundError

__all__ = ["PACKAGE", "find_package", "load_twemoji"]

PACKAGE = "emoji-datasource-twitter"
_INSTALL = f"npm install -g {PACKAGE}@16.0.0"
_ROOTS = (Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules"))
_LEFT_OUT = frozenset({"Component"})
_PEOPLE = frozenset(
    {"man", "men", "woman", "women", "person", "people", "boy", "girl", "adult", "child", "and"}
)


def find_package(package_dir: str | Path | None = None) -> Path:
    """The installed package's folder: `package_dir`, npm's global folder or `npm root -g`.

    Raises:
        DatasetNotFoundError: not installed (the message says how to install it).
    """
    candidates = [Path(package_dir)] if package_dir else [r / PACKAGE for r in _ROOTS]
    if package_dir is None and shutil.which("npm"):
        done = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            candidates.append(Path(done.stdout.strip()) / PACKAGE)
    for folder in candidates:
        if (folder / "emoji.json").is_file():
            return folder
    raise DatasetNotFoundError(
        f"{PACKAGE} not found in {', '.join(str(c) for c in candidates)}; install it with: "
        f"{_INSTALL}"
    )


def _group(entry: dict) -> str:
    """Subcategory and the first 4 letters of the first word that is not a person word:
    "person-sport/surf" for man, woman and person surfing and for "surfer"."""
    words = re.findall(r"[a-z]+", str(entry.get("name", "")).lower())
    words = [w for w in words if w not in _PEOPLE]
    head = words[0][:4] if words else str(entry.get("unified", ""))
    return f"{entry.get('subcategory', '')}/{head}"


def load_twemoji(
    split: str = "train",
    size: int = 32,
    *,
    package_dir: str | Path | None = None,
    cache: bool = True,
) -> ImageDataset:
    """Twemoji images by Unicode emoji category, split by emoji group.

    With emoji-datasource-twitter 16.0.0: 1,906 images in 9 categories; 1,516 train and
    390 test.

    Args:
        split: "train", "test" or "all".
        size: image side in pixels.
        package_dir: the npm package's folder (default: found with `find_package`).
        cache: reuse (and write) the scaled images under $CONTRASTKIT_CACHE.

    Returns:
        ImageDataset with images (N, 3, size, size) uint8, labels the category (classes in
        sorted order), ids the emoji's code points ("1f600"), name "twemoji".

    Raises:
        DatasetNotFoundError: the package is not installed.
        DataFormatError: its emoji.json is not a list of emoji records.
        ConfigError: unknown split.

    Example:
        >>> load_twemoji("test").images.shape  # (390, 3, 32, 32)
    """
    root = find_package(package_dir)
    try:
        entries = json.loads((root / "emoji.json").read_text(encoding="utf-8"))
        entries = [
            e for e in entries
            if e.get("has_img_twitter") and e["category"] not in _LEFT_OUT
            and (root / "img/twitter/64" / e["image"]).is_file()
        ]  # fmt: skip
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise DataFormatError(
            f"{root / 'emoji.json'}: expected a list of records with 'image', 'category' and "
            f"'has_img_twitter', got {type(exc).__name__}: {exc}"
        ) from exc
    entries.sort(key=lambda e: (e.get("sort_order", 0), e["image"]))
    groups = [_group(e) for e in entries]
    categories = [e["category"] for e in entries]
    classes = classes_on_both_sides(categories, groups, 3)
    kept = [i for i, c in enumerate(categories) if c in classes]
    files = [root / "img/twitter/64" / entries[i]["image"] for i in kept]
    arrays = cached_arrays(
        "twemoji", source_digest(files, size), lambda: square_images(files, size), cache
    )
    return split_dataset(
        arrays["images"],
        labels=[classes.index(categories[i]) for i in kept],
        groups=[groups[i] for i in kept],
        ids=[entries[i]["image"].removesuffix(".png") for i in kept],
        classes=classes,
        name="twemoji",
        split=split,
    )
