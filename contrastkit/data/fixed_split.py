"""Fixed train/test splits by group for the evaluation sets built from installed packages,
the square picture every such set is drawn into, and the render cache they share.

A group (a font family, a stamp, an icon name, a base emoji) lies wholly on one side, so
the test split holds only groups that training never saw. The side is read off a hash of
the group's name, so it is the same on every machine and for every package version that
keeps the name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from contrastkit.data.dataset import ImageDataset
from contrastkit.errors import ConfigError

__all__ = [
    "TEST_FRACTION",
    "cached_arrays",
    "classes_on_both_sides",
    "group_in_test",
    "split_dataset",
    "square_image",
]

TEST_FRACTION = 0.2
SPLITS = ("train", "test", "all")


def group_in_test(group: str, fraction: float = TEST_FRACTION) -> bool:
    """Whether `group` falls in the test split: the first 32 bits of its SHA-1 below
    `fraction` of their range."""
    digest = hashlib.sha1(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") < fraction * 2**32


def classes_on_both_sides(names: Sequence[str], groups: Sequence[str], min_each: int) -> list[str]:
    """The sorted class names (one per item in `names`) with at least `min_each` items in
    each split of `group_in_test`."""
    sides: dict[str, list[int]] = {}
    for name, group in zip(names, groups, strict=True):
        sides.setdefault(name, [0, 0])[group_in_test(group)] += 1
    return sorted(n for n, (train, test) in sides.items() if min(train, test) >= min_each)


def split_dataset(
    images: np.ndarray,
    labels: Sequence[int],
    groups: Sequence[str],
    ids: Sequence[str],
    classes: list[str],
    name: str,
    split: str,
) -> ImageDataset:
    """The `split` ("train", "test" or "all") of items split by `group_in_test`.

    Args:
        images: (N, C, H, W) uint8.
        labels: N class indices into `classes`.
        groups: N group names (all items of a group land on one side).
        ids: N item ids.

    Raises:
        ConfigError: unknown split.
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)} for {name}, got {split!r}")
    test = np.array([group_in_test(g) for g in groups], dtype=bool)
    keep = np.ones_like(test) if split == "all" else (test if split == "test" else ~test)
    index = np.nonzero(keep)[0]
    return ImageDataset(
        images=torch.from_numpy(np.ascontiguousarray(images[index])),
        labels=torch.as_tensor(np.asarray(labels, dtype=np.int64)[index]),
        ids=[ids[i] for i in index.tolist()],
        classes=list(classes),
        name=name,
    )


def square_image(image: Image.Image, size: int, mode: str = "RGB") -> np.ndarray:
    """A Pillow image composited on white, padded to a centred square, resized (Lanczos).

    Returns:
        (size, size, 3) uint8 for mode "RGB", (size, size) for "L".
    """
    rgba = image.convert("RGBA")
    side = max(rgba.size)
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    canvas.alpha_composite(rgba, ((side - rgba.width) // 2, (side - rgba.height) // 2))
    out = canvas.convert(mode)
    if out.size != (size, size):
        out = out.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(out, dtype=np.uint8)


def cache_root() -> Path:
    """$CONTRASTKIT_CACHE, or ~/.cache/contrastkit."""
    root = os.environ.get("CONTRASTKIT_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "contrastkit"


def source_digest(files: Sequence[Path], *extra: object) -> str:
    """A short digest of file names and sizes (and `extra` values): the cache key of a
    set drawn from installed files."""
    digest = hashlib.sha1()
    for path in files:
        digest.update(f"{path}\0{path.stat().st_size}\n".encode())
    for value in extra:
        digest.update(repr(value).encode())
    return digest.hexdigest()[:12]


def cached_arrays(
    stem: str, key: str, build: Callable[[], dict[str, np.ndarray]], cache: bool = True
) -> dict[str, np.ndarray]:
    """`build()`'s arrays, read from (or written to) cache_root()/<stem>-<key>.npz."""
    if not cache:
        return build()
    path = cache_root() / f"{stem}-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in stored.files}
    arrays = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return arrays


def square_images(files: list[Path], size: int, mode: str = "RGB") -> dict[str, np.ndarray]:
    """{"images": (N, 3, size, size) uint8} of image files through `square_image`."""
    images = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(files):
        with Image.open(path) as image:
            images[i] = square_image(image, size, mode)
    return {"images": images.transpose(0, 3, 1, 2)}
