"""A folder of image files (flat, one subfolder per class, or train/ and test/ each with
one subfolder per class) decoded into one uint8 tensor."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.decode import DECODE_BAR_DELAY, try_decode
from contrastkit.errors import ConfigError, DataFormatError, DatasetNotFoundError
from contrastkit.progress import bar

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})
FOLDER_SPLITS = ("train", "test")
_WARN_NAMES = 5  # how many skipped files the warning names


def _is_image(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _walk_images(folder: Path) -> list[Path]:
    """Image files under `folder`, recursively, skipping hidden files and folders."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath, f) for f in filenames if _is_image(f)]
    return found


def _find_files(root: Path) -> tuple[list[Path], list[int] | None, list[str] | None]:
    """Image paths sorted by relative path, with class indices and names for class subfolders.

    Class subfolders are the non-hidden subfolders of `root` that hold at least one image
    file (searched recursively). Without any, the layout is flat: the images directly in
    `root`, unlabelled.
    """
    entries = sorted(root.iterdir())
    top_files = [p for p in entries if p.is_file() and _is_image(p.name)]
    subdirs = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    per_class = {d.name: files for d in subdirs if (files := _walk_images(d))}
    if not per_class:
        return top_files, None, None
    if top_files:
        shown = ", ".join(p.name for p in top_files[:3])
        raise DataFormatError(
            f"{root} mixes {len(top_files)} image file(s) at the top level ({shown}) with class "
            f"subfolders ({', '.join(sorted(per_class)[:5])}); move the loose files into a class "
            f"subfolder, or point to a folder with one layout"
        )
    classes = sorted(per_class)
    pairs = [(p, label) for label, c in enumerate(classes) for p in per_class[c]]
    pairs.sort(key=lambda pair: pair[0].relative_to(root).as_posix())
    return [p for p, _ in pairs], [label for _, label in pairs], classes


def _subfolders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def is_split_folder(path: str | Path) -> bool:
    """Whether `path` is a folder whose only (non-hidden) subfolders are train/ and test/."""
    root = Path(path).expanduser()
    return root.is_dir() and _subfolders(root) == sorted(FOLDER_SPLITS)


def training_folder(root: Path) -> Path:
    """root/train for a folder with train/ and test/ subfolders (a fixed split), else root:
    the folder readers read a split folder's training part."""
    return root / "train" if is_split_folder(root) else root


def split_classes(root: Path) -> list[str]:
    """The class subfolders shared by root/train and root/test.

    Raises:
        DataFormatError: the two hold different class subfolders (names the difference).
    """
    train, test = (_subfolders(root / s) for s in FOLDER_SPLITS)
    if train != test:
        only_train = sorted(set(train) - set(test))[:5]
        only_test = sorted(set(test) - set(train))[:5]
        raise DataFormatError(
            f"{root}/train and {root}/test must hold the same class subfolders; only in train: "
            f"{', '.join(only_train) or '-'}, only in test: {', '.join(only_test) or '-'}"
        )
    return train


def load_image_file(
    path: str | Path, image_size: int | tuple[int, int] | None = None, channels: int = 1
) -> torch.Tensor:
    """One image file -> (C, H, W) uint8, converted to `channels` and resized if asked.

    Raises:
        DatasetNotFoundError: no such file.
        DataFormatError: the file is not a readable image (names the file and the reason).
    """
    size, channels = parse_image_options(image_size, channels)
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetNotFoundError(f"image file not found: {path}")
    result = try_decode(path, "L" if channels == 1 else "RGB", size)
    if isinstance(result, str):
        raise DataFormatError(f"{path} is not a readable image: {result}")
    array = result[:, :, None] if result.ndim == 2 else result
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def parse_image_options(
    image_size: int | tuple[int, int] | None, channels: int | None
) -> tuple[tuple[int, int] | None, int | None]:
    """Validate `image_size` (int or (height, width)) and `channels` (1, 3 or None).

    Returns:
        (height, width) or None, and channels unchanged.

    Raises:
        ConfigError: a value out of range, naming the argument.
    """
    if channels not in (None, 1, 3):
        raise ConfigError(f"channels must be None, 1 or 3, got {channels!r}")
    if image_size is None:
        return None, channels
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ConfigError(
            f"image_size must be a positive int or (height, width), got {image_size!r}"
        )
    return (size[0], size[1]), channels


def load_image_folder(
    path: str | Path,
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> ImageDataset:
    """Decode every PNG, JPEG, BMP or WebP image in a folder into one uint8 tensor.

    Two layouts are understood: image files directly in `path` (unlabelled), or one
    subfolder per class (searched recursively; labels index the sorted subfolder names).
    A folder whose only subfolders are train/ and test/ is read as its train/ part (its
    test/ part: `load_dataset(path, "test")`).
    Extensions are matched case-insensitively; hidden files and folders are ignored. Files
    that cannot be decoded are skipped, listed in `dataset.skipped` and summarised in one
    warning. Decoding that lasts over `DECODE_BAR_DELAY` seconds shows a progress bar on
    stderr (as `contrastkit.progress.progress_bars` says).

    Args:
        path: the folder.
        image_size: resize (stretch) every image to this size, an int for a square or
            (height, width). None keeps the size, which all images must then share.
        channels: 1 (grayscale) or 3 (RGB). None picks RGB if any image is stored in a
            colour mode, else grayscale.

    Returns:
        ImageDataset with images (N, C, H, W) uint8, labels (N,) int64 or None, ids the
        file paths relative to `path` with forward slashes in sorted order, classes the
        subfolder names or None, and name the folder's name.

    Raises:
        DatasetNotFoundError: `path` does not exist.
        DataFormatError: `path` is not a folder, holds no readable image, mixes loose
            images with class subfolders, or holds images of different sizes while
            `image_size` is None, or has a class folder with fewer than 2 readable images.
        ConfigError: invalid `image_size` or `channels`.

    Example:
        >>> data = load_image_folder("photos/", image_size=64, channels=3)
        >>> data.images.shape  # (N, 3, 64, 64)
    """
    size, channels = parse_image_options(image_size, channels)
    mode = None if channels is None else ("L" if channels == 1 else "RGB")
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetNotFoundError(f"image folder not found: {root}")
    if not root.is_dir():
        raise DataFormatError(f"{root} is a file, not a folder of images")
    name = root.resolve().name or str(root)
    root = training_folder(root)
    files, labels, classes = _find_files(root)
    exts = ", ".join(sorted(IMAGE_EXTENSIONS))
    if not files:
        raise DataFormatError(f"no image files ({exts}) found in {root}")

    workers = min(8, os.cpu_count() or 1, len(files))
    results: list[np.ndarray | str] = []
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        bar(len(files), f"decode {root.name}", unit="image", delay=DECODE_BAR_DELAY) as shown,
    ):
        for result in pool.map(lambda p: try_decode(p, mode, size), files):
            results.append(result)
            shown.update()

    ids = [p.relative_to(root).as_posix() for p in files]
    kept = [i for i, r in enumerate(results) if not isinstance(r, str)]
    skipped = [(ids[i], r) for i, r in enumerate(results) if isinstance(r, str)]
    if not kept:
        raise DataFormatError(
            f"none of the {len(files)} image files in {root} could be read "
            f"(first: {skipped[0][0]}: {skipped[0][1]})"
        )
    if skipped:
        names = ", ".join(name for name, _ in skipped[:_WARN_NAMES])
        more = f" and {len(skipped) - _WARN_NAMES} more" if len(skipped) > _WARN_NAMES else ""
        warnings.warn(
            f"skipped {len(skipped)} unreadable image file(s) in {root}: {names}{more} "
            f"(reasons in dataset.skipped)",
            stacklevel=2,
        )

    if labels is not None and classes is not None:
        counts = Counter(labels[i] for i in kept)
        thin = [classes[c] for c in range(len(classes)) if counts.get(c, 0) < 2]
        if thin:
            raise DataFormatError(
                f"class folder(s) {', '.join(thin[:5])} in {root} hold fewer than 2 readable "
                "images; every class needs at least 2 (one to train, one to evaluate): add "
                "images or remove the folder"
            )

    arrays = [results[i] for i in kept]
    h, w = arrays[0].shape[:2]
    for i, a in zip(kept, arrays, strict=True):
        if a.shape[:2] != (h, w):
            raise DataFormatError(
                f"{root / ids[i]} is {a.shape[1]}x{a.shape[0]} (WxH) but {ids[kept[0]]} is "
                f"{w}x{h}; pass image_size (--image-size) to resize all images to one size"
            )
    c = 3 if any(a.ndim == 3 for a in arrays) else 1
    images = np.empty((len(arrays), c, h, w), dtype=np.uint8)
    for j, a in enumerate(arrays):
        images[j] = a.transpose(2, 0, 1) if a.ndim == 3 else a  # grayscale broadcasts to C

    return ImageDataset(
        images=torch.from_numpy(images),
        labels=None if labels is None else torch.tensor([labels[i] for i in kept]),
        ids=[ids[i] for i in kept],
        classes=classes,
        name=name,
        skipped=skipped,
    )
