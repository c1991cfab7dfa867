"""Named datasets, image folders (one subfolder per class, or train/ and test/ each with
one subfolder per class), tar shards and Hugging Face image datasets behind one
`load_dataset` call."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.digits import load_digits
from contrastkit.data.eval_sets import EVAL_SETS
from contrastkit.data.folder import (
    FOLDER_SPLITS,
    is_split_folder,
    load_image_folder,
    parse_image_options,
    split_classes,
)
from contrastkit.data.hf_source import hf_splits, is_hf_source, stream_hf_images
from contrastkit.data.idx import load_fashion_mnist
from contrastkit.data.tar_shards import is_tar_source, stream_tar_shards
from contrastkit.errors import ConfigError, DataFormatError, DatasetNotFoundError

DATASETS: dict[str, str] = {
    "fashion-mnist": "Fashion-MNIST: 70,000 28x28 grayscale clothing images, 10 classes "
    "(Debian package dataset-fashion-mnist)",
    "digits": "scikit-learn digits: 1,797 8x8 grayscale handwritten digits, 10 classes "
    "(bundled, stratified 80/20 split)",
    **{name: spec.description for name, spec in EVAL_SETS.items()},
}
_ALIASES = {"fashion_mnist": "fashion-mnist", "fmnist": "fashion-mnist"}
_WITH_TEST_SPLIT = frozenset({"fashion-mnist", "digits", *EVAL_SETS})
_CHUNK = 4096  # images resized per interpolate call, to bound float memory


def _canonical(name: str) -> str | None:
    """The registry name for `name` or one of its aliases, else None."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in DATASETS else None


def has_test_split(name: str) -> bool:
    """Whether `name` is a named dataset, a folder with train/ and test/ subfolders or a
    saved Hugging Face `DatasetDict` with a held-out "test" split (other folders and tar
    shards have none)."""
    if _canonical(name) in _WITH_TEST_SPLIT or is_split_folder(name):
        return True
    return is_hf_source(name) and {"train", "test"} <= set(hf_splits(name))


def indexed_source(
    name_or_path: str,
    split: str = "train",
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> ImageDataset | None:
    """Tar shards or a Hugging Face image dataset indexed, not decoded (images are
    `LazyImages`: stream them, or `.decoded()` for memory); None for anything else.

    Raises:
        ConfigError: a split other than "train" of tar shards.
    """
    if _canonical(name_or_path) is not None:
        return None
    if is_tar_source(name_or_path):
        if split != "train":
            raise ConfigError(f"tar shards have no {split!r} split: {name_or_path}")
        return stream_tar_shards(name_or_path, image_size, channels)
    if is_hf_source(name_or_path):
        return stream_hf_images(name_or_path, split, image_size, channels)
    return None


def _adapt(
    data: ImageDataset, image_size: int | tuple[int, int] | None, channels: int | None
) -> ImageDataset:
    """Resize (bilinear, antialiased) and convert channels of an already decoded dataset."""
    size, channels = parse_image_options(image_size, channels)
    images = data.images
    if channels is not None and channels != images.shape[1]:
        if channels == 3:
            images = images.expand(-1, 3, -1, -1).contiguous()
        else:  # ITU-R 601-2 luma, as Pillow's convert("L")
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)
    if size is not None and tuple(images.shape[2:]) != size:
        chunks = [
            F.interpolate(c.float(), size=size, mode="bilinear", antialias=True)
            .round()
            .clamp(0, 255)
            .to(torch.uint8)
            for c in images.split(_CHUNK)
        ]
        images = torch.cat(chunks)
    if images is data.images:
        return data
    return ImageDataset(
        images=images,
        labels=data.labels,
        ids=data.ids,
        classes=data.classes,
        name=data.name,
        skipped=data.skipped,
    )


def load_dataset(
    name_or_path: str,
    split: str = "train",
    *,
    data_dir: str | Path | None = None,
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> ImageDataset:
    """Load a named dataset (see `DATASETS`) or a folder of images.

    Names win over folders: to load a folder called "digits", pass "./digits". A folder
    whose only subfolders are train/ and test/ (each with one subfolder per class, the
    same classes) has a fixed split: `split` picks the subfolder.

    Args:
        name_or_path: "fashion-mnist" (aliases "fashion_mnist", "fmnist"), "digits", an
            evaluation set ("font-letters", "tux-stamps", "twemoji", "mate-icons"), the
            path of an image folder (see `load_image_folder`), tar shards (a folder of
            .tar files, a .tar or a brace pattern, see `stream_tar_shards`) or a Hugging
            Face dataset (see `stream_hf_images`).
        split: "train" or "test" ("all" too for digits and the evaluation sets). Ignored
            for folders without train/ and test/ subfolders: the whole folder is returned;
            tar shards have "train" only.
        data_dir: where the named dataset's files are (fashion-mnist only; the default is
            its usual install location). Ignored for digits and folders.
        image_size: resize to this size, an int for a square or (height, width). Folders
            are resized while decoding; named datasets with bilinear antialiased
            interpolation. None keeps the native size.
        channels: 1 or 3 to force grayscale or RGB; None keeps the data's own.

    Returns:
        ImageDataset with images (N, C, H, W) uint8.

    Raises:
        DatasetNotFoundError: not a known name and no folder at that path (the message
            lists the known names), or the named dataset's files are missing.
        ConfigError: unknown split, invalid `image_size` or `channels`.
        DataFormatError: the files are malformed, or train/ and test/ hold other classes.

    Example:
        >>> train = load_dataset("fmnist", "train", image_size=32, channels=3)
        >>> train.images.shape
        torch.Size([60000, 3, 32, 32])
    """
    name = _canonical(name_or_path)
    if name == "fashion-mnist":
        data = load_fashion_mnist(split, root=data_dir)
    elif name == "digits":
        data = load_digits(split)
    elif name in EVAL_SETS:
        data = EVAL_SETS[name].load(split)
    else:
        indexed = indexed_source(name_or_path, split, image_size, channels)
        if indexed is not None:
            return indexed.decoded()
        path = Path(name_or_path).expanduser()
        if not path.exists():
            known = ", ".join(sorted([*DATASETS, *_ALIASES]))
            raise DatasetNotFoundError(
                f"unknown dataset {name_or_path!r}: not a known name ({known}) and no folder "
                f"at {path}"
            )
        if not is_split_folder(path):
            return load_image_folder(path, image_size=image_size, channels=channels)
        if split not in FOLDER_SPLITS:
            raise ConfigError(f"split must be train or test for {path}, got {split!r}")
        classes = split_classes(path)  # the same class folders on both sides
        data = load_image_folder(path / split, image_size=image_size, channels=channels)
        if data.classes != classes:
            empty = sorted(set(classes) - set(data.classes or []))
            raise DataFormatError(
                f"{path / split} has class folder(s) without images: {', '.join(empty[:5])}"
            )
        data.name = path.resolve().name
        return data
    return _adapt(data, image_size, channels)
