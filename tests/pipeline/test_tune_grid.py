"""The view grid of `tune-views` per modality: the right factors and levels, colour only
for colour images, and a trial count known before any training."""

from __future__ import annotations

import pytest

from contrastkit.errors import ContrastkitError
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.tune_grid import new_levels, view_grid
from contrastkit.pipeline.tune_views import check_budget, trial_count


def _keys(factors) -> dict[str, list[dict]]:
    return {f.name: [level.values for level in f.levels] for f in factors}


def test_grayscale_images_get_crop_flip_stroke_and_blur_but_no_colour() -> None:
    cfg = load_config(None, {"data.dataset": "digits", "train.steps": 1})
    grid = _keys(view_grid("image", cfg.views, channels=1))
    assert list(grid) == ["crop", "flip", "stroke", "blur"]
    assert grid["stroke"] == [{"stroke_p": 0.0}, {"stroke_p": 0.5}]
    assert grid["crop"] == [{"crop_scale": (s, 1.0)} for s in (0.08, 0.2, 0.5)]
    assert grid["flip"] == [{"flip_p": 0.0}, {"flip_p": 0.5}]
    assert grid["blur"] == [{"blur_p": 0.0}, {"blur_p": 0.5}]
    # the default views (crop 0.08, flip 0.5, stroke 0, blur 0.5) are trial 0; each other
    # level once
    assert trial_count(view_grid("image", cfg.views, channels=1), cfg) == 1 + 2 + 1 + 1 + 1


def test_colour_images_also_search_colour_jitter_strength() -> None:
    cfg = load_config(None, {"data.dataset": "digits", "train.steps": 1})
    factors = view_grid("image", cfg.views, channels=3)
    grid = _keys(factors)
    assert list(grid) == ["crop", "flip", "colour", "blur"]
    off, half, full = grid["colour"]
    assert off == {"jitter_p": 0.0}
    assert half["brightness"] == pytest.approx(0.2) and half["hue"] == pytest.approx(0.05)
    assert full == {"jitter_p": 0.8, "brightness": 0.4, "contrast": 0.4, "saturation": 0.4,
                    "hue": 0.1}  # fmt: skip
    colour = next(f for f in factors if f.name == "colour")  # the defaults are full strength
    assert [lv.label for lv in new_levels(colour, cfg.views)] == ["colour 0", "colour 0.5"]
    assert trial_count(factors, cfg) == 1 + 2 + 1 + 2 + 1


def test_a_recipe_changes_which_levels_are_new_and_the_crop_top() -> None:
    cfg = load_config("digits", {"views.crop_scale": [0.5, 0.9]})
    factors = view_grid("image", cfg.views, channels=1)
    assert _keys(factors)["crop"] == [{"crop_scale": (s, 0.9)} for s in (0.08, 0.2, 0.5)]
    # digits: crop 0.5, no flip, no blur -> crop 0.08 / 0.2, flip on, blur on
    labels = [lv.label for f in factors for lv in new_levels(f, cfg.views)]
    assert labels == ["crop 0.08", "crop 0.2", "flip on", "stroke on", "blur on"]


def test_text_searches_deletion_and_synonym_rates() -> None:
    cfg = load_config(None, {"data.dataset": "wordnet", "train.steps": 1})
    grid = _keys(view_grid("text", cfg.views))
    assert grid == {
        "deletion": [{"delete_p": p} for p in (0.0, 0.1, 0.2)],
        "synonyms": [{"synonym_p": p} for p in (0.0, 0.1, 0.2)],
    }
    assert trial_count(view_grid("text", cfg.views), cfg) == 1 + 2 + 2  # base rates 0


def test_audio_searches_time_and_frequency_masks() -> None:
    cfg = load_config(None, {"data.dataset": "instrument-notes", "train.steps": 1})
    grid = _keys(view_grid("audio", cfg.views))
    assert grid == {
        "time masks": [{"time_masks": n} for n in (0, 2, 4)],
        "freq masks": [{"freq_masks": n} for n in (0, 2, 4)],
    }
    assert trial_count(view_grid("audio", cfg.views), cfg) == 1 + 2 + 2  # base 2 and 2


def test_other_modalities_and_small_budgets_are_one_sentence() -> None:
    cfg = load_config(None, {"data.dataset": "wine", "train.steps": 1})
    with pytest.raises(ContrastkitError, match="searches the views of image, text and audio"):
        view_grid("table", cfg.views)
    with pytest.raises(ContrastkitError, match="too small for 5 trials"):
        check_budget(20, 5)
    check_budget(25, 5)
