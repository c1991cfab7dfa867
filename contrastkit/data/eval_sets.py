"""Labelled image sets built from installed Debian and npm packages, none of which any
recipe or default of contrastkit was tuned on: the evaluation sets of the defaults
benchmark. Each has a fixed train/test split by group (`contrastkit.data.fixed_split`)
and can be written out as the image folder a user would bring (`export_image_folder`).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.font_letters import load_font_letters
from contrastkit.data.mate_icons import load_mate_icons
from contrastkit.data.tux_stamps import load_tux_stamps
from contrastkit.data.twemoji import load_twemoji
from contrastkit.errors import ConfigError

__all__ = ["EVAL_SETS", "EvalSet", "export_image_folder", "export_stem", "load_eval_set"]


@dataclass(frozen=True)
class EvalSet:
    """One evaluation set: what it is, how it installs, its licence and its reader.

    Attributes:
        description: one line for `contrastkit datasets`.
        install: the command that installs its source package.
        licence: the licence of the images.
        load: `load(split)` -> ImageDataset, split "train", "test" or "all".
    """

    description: str
    install: str
    licence: str
    load: Callable[[str], ImageDataset]


EVAL_SETS: dict[str, EvalSet] = {
    "font-letters": EvalSet(
        "capitals A-Z in 457 display fonts: 11,882 28x28 grayscale glyphs, 26 classes, "
        "split by font family (Debian package fonts-aenigma)",
        "apt-get install -y fonts-aenigma",
        "Ænigma fonts licence (free redistribution; Brian Kent)",
        lambda split: load_font_letters(split),
    ),
    "tux-stamps": EvalSet(
        "Tux Paint stamps: 742 32x32 colour drawings and photos, 10 categories, split by "
        "stamp (Debian package tuxpaint-stamps-default)",
        "apt-get install -y tuxpaint-stamps-default",
        "GPL-2",
        lambda split: load_tux_stamps(split),
    ),
    "twemoji": EvalSet(
        "Twemoji artwork: 1,906 32x32 colour emoji, 9 Unicode categories, split by emoji "
        "(npm package emoji-datasource-twitter)",
        "npm install -g emoji-datasource-twitter@16.0.0",
        "CC-BY-4.0 (Twitter and the Twemoji contributors)",
        lambda split: load_twemoji(split),
    ),
    "mate-icons": EvalSet(
        "MATE icon theme: 385 32x32 colour icons, 6 contexts, split by icon name "
        "(Debian package mate-icon-theme)",
        "apt-get install -y mate-icon-theme",
        "LGPL-3+ or CC-BY-SA-3.0",
        lambda split: load_mate_icons(split),
    ),
}


def load_eval_set(name: str, split: str = "train") -> ImageDataset:
    """The `split` of the evaluation set `name` (see `EVAL_SETS`).

    Raises:
        ConfigError: unknown name or split.
        DatasetNotFoundError: its package is not installed (the message says how).
    """
    if name not in EVAL_SETS:
        raise ConfigError(f"unknown evaluation set {name!r}; known: {', '.join(EVAL_SETS)}")
    return EVAL_SETS[name].load(split)


def _folder_name(text: str) -> str:
    """A class or item name as a file name: "Food & Drink" -> "food-and-drink"."""
    slug = re.sub(r"[^0-9a-z]+", "-", text.lower().replace("&", "and")).strip("-")
    return slug or "x"


def export_stem(index: int, item: str) -> str:
    """The file stem `export_image_folder` writes for item `index` (id `item`) of a split:
    "00012-actions-edit-paste" (unique, in id order)."""
    return f"{index:05d}-{_folder_name(item.removesuffix('.png'))}"


def export_image_folder(name: str, out: str | Path, *, overwrite: bool = False) -> dict[str, int]:
    """Write the evaluation set `name` as OUT/train/<class>/<item>.png and
    OUT/test/<class>/<item>.png, with OUT/README.txt saying what it is.

    `contrastkit train --dataset OUT` then trains on train/ and evaluates on test/. A
    folder already written (its README.txt present) is kept unless `overwrite`.

    Returns:
        the number of images written per split, {"train": n, "test": m}.

    Raises:
        ConfigError: unknown name, or OUT exists, is not an export and `overwrite` is off.
        DatasetNotFoundError: the set's package is not installed.
    """
    root = Path(out).expanduser()
    readme = root / "README.txt"
    if readme.is_file() and not overwrite:
        return {s: sum(1 for _ in (root / s).rglob("*.png")) for s in ("train", "test")}
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise ConfigError(f"{root} exists and is not an export of {name}; pass overwrite")
        shutil.rmtree(root)
    spec = EVAL_SETS.get(name)
    if spec is None:
        raise ConfigError(f"unknown evaluation set {name!r}; known: {', '.join(EVAL_SETS)}")
    counts = {}
    for split in ("train", "test"):
        data = spec.load(split)
        labels, classes = data.labels.tolist(), data.classes or []  # every set is labelled
        folders = [root / split / _folder_name(c) for c in classes]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        array = data.images.permute(0, 2, 3, 1).numpy()
        for i, (item, label) in enumerate(zip(data.ids, labels, strict=True)):
            pixels = array[i, :, :, 0] if array.shape[3] == 1 else array[i]
            file = folders[label] / f"{export_stem(i, item)}.png"
            Image.fromarray(np.ascontiguousarray(pixels)).save(file)
        counts[split] = len(data)
    readme.write_text(
        f"{name}: {spec.description}\nlicence: {spec.licence}\ninstall: {spec.install}\n"
        f"written by contrastkit.data.eval_sets.export_image_folder: train {counts['train']}, "
        f"test {counts['test']} images\n"
    )
    return counts
