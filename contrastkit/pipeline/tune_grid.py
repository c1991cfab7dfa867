"""The fixed grid of view strengths that `contrastkit tune-views` searches, per modality.

The search is one factor at a time (greedy coordinate search): the base recipe is trial
0; then, factor by factor in the order below, every level that differs from the best
views so far is trained once, and the best trial so far becomes the start of the next
factor. The number of trials is known before any training (the factors change disjoint
keys), so a budget can be split evenly between them.

- images: crop min scale 0.08 / 0.2 / 0.5; flip off / on (p 0.5); stroke width off / on
  (p 0.5; grayscale images only); colour jitter off / half / full strength (colour images
  only: 0.4 brightness, contrast, saturation and 0.1 hue at full, p 0.8); blur off / on
  (p 0.5).
- text: word deletion 0 / 0.1 / 0.2; WordNet synonyms 0 / 0.1 / 0.2.
- audio: time masks 0 / 2 / 4; frequency masks 0 / 2 / 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contrastkit.config import ViewsConfig
from contrastkit.errors import ContrastkitError

__all__ = ["Factor", "Level", "differs", "new_levels", "view_grid"]


@dataclass(frozen=True)
class Level:
    """One setting of a factor: a label for tables and the views keys it sets."""

    label: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Factor:
    """A view strength searched over: its name and its levels."""

    name: str
    levels: tuple[Level, ...]


def _colour(strength: float) -> dict[str, Any]:
    if strength == 0:
        return {"jitter_p": 0.0}
    s = 0.4 * strength
    return {"jitter_p": 0.8, "brightness": s, "contrast": s, "saturation": s,
            "hue": round(0.1 * strength, 4)}  # fmt: skip


def _factor(name: str, label: str, values: list[dict[str, Any]], shown: list[Any]) -> Factor:
    return Factor(
        name, tuple(Level(label.format(x), v) for x, v in zip(shown, values, strict=True))
    )


def view_grid(modality: str, views: ViewsConfig, channels: int | None = None) -> list[Factor]:
    """The factors of `modality`'s grid, levels fitted to the base `views` (the crop's
    max scale is kept); `channels` of images (colour jitter only for 3).

    Raises:
        ContrastkitError: a modality without a view grid.
    """
    if modality == "image":
        top = float(views.crop_scale[1])
        crops = [s for s in (0.08, 0.2, 0.5) if s <= top]
        factors = [
            _factor("crop", "crop {:g}", [{"crop_scale": (s, top)} for s in crops], crops),
            _factor("flip", "flip {}", [{"flip_p": 0.0}, {"flip_p": 0.5}], ["off", "on"]),
        ]
        if channels == 1:
            stroke = [{"stroke_p": 0.0}, {"stroke_p": 0.5}]
            factors.append(_factor("stroke", "stroke {}", stroke, ["off", "on"]))
        if channels == 3:
            strengths = [0.0, 0.5, 1.0]
            factors.append(
                _factor("colour", "colour {:g}", [_colour(s) for s in strengths], strengths)
            )
        factors.append(
            _factor("blur", "blur {}", [{"blur_p": 0.0}, {"blur_p": 0.5}], ["off", "on"])
        )
        return factors
    rates, masks = [0.0, 0.1, 0.2], [0, 2, 4]
    if modality == "text":
        return [
            _factor("deletion", "delete {:g}", [{"delete_p": p} for p in rates], rates),
            _factor("synonyms", "synonym {:g}", [{"synonym_p": p} for p in rates], rates),
        ]
    if modality == "audio":
        return [
            _factor("time masks", "time masks {}", [{"time_masks": n} for n in masks], masks),
            _factor("freq masks", "freq masks {}", [{"freq_masks": n} for n in masks], masks),
        ]
    raise ContrastkitError(
        f"tune-views searches the views of image, text and audio data; the dataset is "
        f"{modality} data"
    )


def differs(views: ViewsConfig, values: dict[str, Any]) -> bool:
    """Whether setting `values` changes `views` (tuples and lists compare alike)."""

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, int | float) and isinstance(b, int | float):
            return abs(float(a) - float(b)) < 1e-9
        return a == b

    return any(not same(getattr(views, key), value) for key, value in values.items())


def new_levels(factor: Factor, views: ViewsConfig) -> list[Level]:
    """The levels of `factor` that change `views` (those a search trains)."""
    return [level for level in factor.levels if differs(views, level.values)]
