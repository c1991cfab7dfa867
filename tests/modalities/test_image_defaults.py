"""Data-aware defaults of image runs without a recipe: the choice rules, the look at the data
(grey from the decoded pixels), and the user's recipe, flags and --set winning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from contrastkit.data.image_facts import ImageFacts, read_image_facts
from contrastkit.errors import ConfigError
from contrastkit.modalities.image_defaults import choose_image_defaults
from contrastkit.pipeline.settings import load_train_config


def _chosen(facts: ImageFacts, **kwargs) -> dict:
    return {k: v for c in choose_image_defaults(facts, **kwargs) for k, v in c.values.items()}


def _facts(side: int, channels: int, items: int, classes: int | None, **kw) -> ImageFacts:
    return ImageFacts(f"./set{side}", items, side, side, channels, kw.pop("stored", channels),
                      classes, kw.pop("test_split", False), 256)  # fmt: skip


def test_grayscale_28px_glyphs_get_small_image_views_without_flip_or_colour() -> None:
    chosen = _chosen(_facts(28, 1, 5000, 10, stored=3))  # the folder
    assert chosen["data.channels"] == 1  # stored as RGB, grey pixels
    assert chosen["views.size"] == 20 and chosen["views.crop_scale"] == [0.3, 1.0]
    assert chosen["views.flip_p"] == 0.0 and chosen["views.blur_p"] == 0.0
    assert chosen["views.stroke_p"] == 0.5  # stroke weight varies: fonts, pens
    assert chosen["views.hue"] == chosen["views.saturation"] == chosen["views.grayscale_p"] == 0
    assert chosen["views.brightness"] == chosen["views.contrast"] == 0.4
    assert chosen["model.widths"] == [32, 64, 128, 256]
    assert chosen["model.pool_size"] == 2  # a 2x2 grid: where a stroke is tells glyphs apart
    assert chosen["data.holdout"] == 400  # 10% of the 4,000 training items, not 1,000
    assert chosen["eval.knn_k"] == 20 and chosen["train.batch_size"] == 256
    assert chosen["train.epochs"] == 200 and chosen["train.max_time"] == "10m"


def test_colour_64px_photos_get_cifar_views_with_flip_and_colour_but_no_blur() -> None:
    chosen = _chosen(_facts(64, 3, 20000, 20))
    assert "data.channels" not in chosen and "data.image_size" not in chosen
    assert chosen["views.crop_scale"] == [0.2, 1.0] and chosen["views.flip_p"] == 0.5
    assert chosen["views.saturation"] == 0.4 and chosen["views.hue"] == 0.1
    assert chosen["views.grayscale_p"] == 0.2 and chosen["views.blur_p"] == 0.0
    assert "views.stroke_p" not in chosen  # colour photos: no stroke-width views
    assert chosen["model.widths"] == [32, 64, 128, 256, 256]
    assert chosen["data.holdout"] == 1000  # 10% of 16,000, capped
    assert chosen["eval.knn_k"] == 20


def test_large_images_are_resized_and_blurred_like_imagenet_views() -> None:
    facts = ImageFacts("./photos", 3000, 240, 320, 3, 3, None, False)
    chosen = _chosen(facts)
    assert chosen["data.image_size"] == 96 and chosen["views.size"] == 96
    assert chosen["views.crop_scale"] == [0.08, 1.0] and chosen["views.blur_p"] == 0.5


def test_tiny_sets_hold_nothing_out_and_lower_k_and_batch() -> None:
    chosen = _chosen(_facts(32, 3, 120, 4))  # 96 training items after the 20% test split
    assert chosen["data.holdout"] == 0
    assert chosen["train.batch_size"] == 32
    assert chosen["eval.knn_k"] == 12  # half of an average class of 24
    digits = _chosen(_facts(8, 1, 1437, 10, test_split=True))  # its own test split
    assert digits["views.crop_scale"] == [0.5, 1.0] and digits["model.widths"] == [32, 64, 128]
    assert "views.stroke_p" not in digits  # 8 px: one pixel is most of a stroke
    assert digits["data.holdout"] == 144 and digits["train.batch_size"] == 128


def test_unlabelled_data_gets_views_but_no_holdout_or_knn() -> None:
    chosen = _chosen(_facts(28, 1, 5000, None))
    assert "data.holdout" not in chosen and "eval.knn_k" not in chosen
    assert chosen["views.flip_p"] == 0.0
    assert chosen["train.batch_size"] == 256  # nothing held out for a test split


def test_keys_the_user_gave_are_left_out() -> None:
    facts = _facts(28, 1, 5000, 10)
    chosen = _chosen(facts, given={"views.flip_p", "train.max_time", "eval"})
    assert "views.flip_p" not in chosen and "views.crop_scale" in chosen
    assert not {"train.epochs", "train.max_time", "eval.knn_k"} & set(chosen)  # whole budget
    backbone = _chosen(facts, given={"model.backbone"})
    assert not {"views.size", "model.widths", "model.backbone"} & set(backbone)
    assert _chosen(facts, given={"views"}).keys().isdisjoint({"views.size", "views.hue"})


def _write(folder: Path, colour: bool, mode: str = "RGB", per_class: int = 12) -> None:
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            grey = rng.integers(0, 256, (16, 16), dtype=np.uint8)
            pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) if colour else grey
            image = Image.fromarray(pixels)
            image.convert(mode).save(folder / name / f"{i}.png")


@pytest.mark.parametrize(
    ("colour", "mode", "channels", "stored"),
    [(False, "RGB", 1, 3), (True, "RGB", 3, 3), (False, "L", 1, 1)],
    ids=["grey-saved-as-rgb", "colour", "grey-mode"],
)
def test_grey_or_colour_is_read_from_the_decoded_pixels(
    tmp_path: Path, colour: bool, mode: str, channels: int, stored: int
) -> None:
    _write(tmp_path / "d", colour, mode)
    facts = read_image_facts(str(tmp_path / "d"))
    assert (facts.channels, facts.stored_channels) == (channels, stored)
    assert facts.items == 24 and facts.classes == 2 and (facts.height, facts.width) == (16, 16)
    assert not facts.test_split


def test_recipe_and_set_win_over_the_data(tmp_path: Path) -> None:
    _write(tmp_path / "d", colour=False)
    base = {"data.dataset": str(tmp_path / "d"), "train.steps": 3}
    cfg, choices = load_train_config(None, base)
    assert choices and cfg.views.flip_p == 0.0 and cfg.data.channels == 1
    assert cfg.views.hue == 0.0 and cfg.train.steps == 3 and cfg.train.max_time is None
    assert cfg.data.holdout == 0 and cfg.eval.knn_k == 4  # 19 training items, 2 classes

    cfg, _ = load_train_config(None, {**base, "views.flip_p": 0.5, "data.channels": 3})
    assert cfg.views.flip_p == 0.5 and cfg.data.channels == 3 and cfg.views.hue == 0.1

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"data:\n  dataset: {tmp_path / 'd'}\ntrain:\n  steps: 3\n")
    cfg, choices = load_train_config(recipe)
    assert choices == [] and cfg.views.flip_p == 0.5 and cfg.eval.knn_k == 200


def test_without_a_budget_images_get_one_and_other_data_still_must_give_one(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "d", colour=True)
    cfg, choices = load_train_config(None, {"data.dataset": str(tmp_path / "d")})
    assert cfg.train.epochs == 200 and cfg.train.max_time == 600 and cfg.train.steps is None
    assert any("no budget given" in c.reason for c in choices)
    with pytest.raises(ConfigError, match="budget"):
        load_train_config(None, {"data.dataset": "wine"})
    with pytest.raises(ConfigError, match=r"optim\.lr"):  # checked before the data is read
        load_train_config(None, {"data.dataset": str(tmp_path / "d"), "optim.lr": -1})
