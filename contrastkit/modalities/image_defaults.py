"""Data-aware defaults of an image run without a recipe: views, view size, backbone,
batch, budget, monitor hold-out and kNN k, chosen from what `read_image_facts` saw.

The library's fixed defaults are ImageNet's SimCLR views (crops down to 8% of the area,
flips, hue jitter, blur), which destroy 28-px grayscale glyphs. The peers' small-image
settings are the reference here, not a search on any test split:

- SimCLR [1] (appendix B.9, CIFAR-10 at 32 px): the same crops and colour distortion of
  strength 0.5, Gaussian blur removed; MoCo v2 / SimSiam's CIFAR protocol [2] crops 20-100%
  of the area; solo-learn's CIFAR configs [3]: 32-px crops, flip 0.5, colour jitter
  0.4/0.4/0.2/0.1 with p 0.8, grayscale 0.2, no blur.
- Mirror images: flips are label-preserving for photos, not for glyphs (digits, letters,
  symbols; a mirrored "b" is a "d"), which is why the bundled digits recipe leaves them out.

Rules (side = the shorter image side the run reads; n = training items after the test
hold-out):

- channels: images stored as RGB whose sampled pixels are all grey train as 1 channel.
- size: sides up to 96 px are kept, larger images are resized to 96 (STL-10's side; a
  compact CNN on a CPU then trains in minutes); views are crops resized to that side,
  except grayscale images of 17 to 32 px, whose views are 5/7 of the side (20 px for 28)
  and are evaluated at the full side: the Fashion-MNIST recipe's measured choice, and on
  the font-letters validation split 1.65x faster per step with a monitor kNN as high at
  every epoch (0.554 vs 0.542 after 120 steps).
- crop scale (min, 1): 0.5 up to 16 px (whole strokes stay in view), 0.3 for grayscale up
  to 32 px (a crop keeps over half the glyph's side), 0.2 up to 64 px [2], 0.08 above [1].
- flip: off for grayscale images up to 64 px (glyph-like), 0.5 otherwise [1, 3].
- stroke width: grayscale images of 17 to 64 px get `views.stroke_p=0.5` (a 3x3 dilation
  or erosion: a font's weight says nothing about the letter). Chosen on a validation
  split of font-letters' training fonts (`benchmarks/defaults_validation.py`; 5-minute
  runs, 2 seeds): validation kNN 0.777 +- 0.004 against 0.728 +- 0.008 without (p 0.8:
  0.772), linear probe level (0.792 vs 0.801 +- 0.011). Not at 16 px or less, where one
  pixel is a large part of a stroke's length.
- colour: brightness/contrast jitter only for grayscale images; colour images add
  saturation 0.4, hue 0.1 and random grayscale 0.2 (SimCLR's strength 0.5 [1]). Checked
  on validation splits (BENCHMARKS.md, 3 seeds): worth +0.07 kNN on twemoji and
  tux-stamps over no colour operations; mate-icons prefers none (+0.14), a per-set
  answer left to `tune-views` (its grid turns colour jitter off).
- blur: only from 96 px (SimCLR's ImageNet views; removed at 32 px [1]).
- backbone: the compact CNN, one stage per halving until the last map is about 4 px
  (3 to 5 stages of widths 32, 64, 128, 256, 256), like the CIFAR ResNets' 4x4 last map;
  the last map average-pooled to a 2x2 grid (`model.pool_size=2`), not to one vector. The
  Fashion-MNIST recipe measured the grid above global pooling for kNN and linear probes;
  on validation splits carved from the training splits of two evaluation sets (font
  letters, Twemoji; BENCHMARKS.md, "Data-aware defaults") it raised the trained encoder's
  kNN from 0.308 to 0.539 and from 0.513 to 0.589: global pooling throws away where a
  stroke is, which is what tells small glyphs and icons apart.
- batch: a power of two between 32 and 256 with at least 8 batches per epoch (SimCLR [1],
  Fig. 9: 256 is within a few points of larger batches at 100+ epochs).
- budget (only when no epochs, steps or max_time is given): 200 epochs or 10 minutes,
  whichever ends first (MoCo v2's and SimSiam's short 200-epoch protocol [2]; minutes on
  a laptop CPU).
- monitor hold-out: `monitor_holdout` (10% of n, at most 1,000, none below 500).
- kNN k: `default_knn_k` (20, lowered to half an average class on small banks).

An explicit recipe, flag or --set always wins: `choose_image_defaults` leaves out every key
the user gave (and the whole budget when any budget key is given, and the size and
backbone choices when the user picked a backbone).

[1] Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations",
    ICML 2020.
[2] Chen & He, "Exploring Simple Siamese Representation Learning", CVPR 2021 (CIFAR-10:
    RandomResizedCrop scale 0.2-1); Chen et al., "Improved Baselines with Momentum
    Contrastive Learning", 2020 (200 epochs).
[3] da Costa et al., "solo-learn", JMLR 2022 (scripts/pretrain/cifar/augmentations).
"""

from __future__ import annotations

import math
from collections.abc import Collection

from contrastkit.config import BUDGET_KEYS
from contrastkit.data.image_facts import ImageFacts
from contrastkit.data.splits import monitor_holdout
from contrastkit.evaluate.knn_protocol import default_knn_k
from contrastkit.modalities.base import DefaultChoice

__all__ = ["MAX_SIDE", "choose_image_defaults", "training_items"]

MAX_SIDE = 96  # larger images are resized to this side
_WIDTHS = [32, 64, 128, 256, 256]


def training_items(facts: ImageFacts, test_size: float | None = None) -> int:
    """Items training sees: all of them, or those left after a labelled source without a
    test split gives `test_size` (share < 1 or count, default 0.2) to evaluation."""
    n = facts.items
    if facts.test_split or not facts.labelled or n < 10:
        return n
    size = 0.2 if test_size is None else test_size
    held = round(size * n) if size < 1 else int(size)
    return n - min(max(held, 1), n - 1)


def _stages(side: int) -> int:
    """Compact-CNN stages: halve until the last map is about 4 px, 3 to 5 stages."""
    return min(5, max(3, 1 + math.ceil(math.log2(max(side, 1) / 4))))


def _batch(n_train: int) -> int:
    """A power of two in [32, 256] with >= 8 batches per epoch (at most the items)."""
    fit = 2 ** int(math.log2(max(n_train // 8, 1)))
    return max(2, min(max(fit, 32), 256, n_train))


def _all(facts: ImageFacts, n_train: int) -> list[DefaultChoice]:
    """Every choice for `facts`, before the user's keys are taken out."""
    grey, side = facts.channels == 1, min(facts.side, MAX_SIDE)
    kind = "grayscale" if grey else "colour"
    out = []
    if grey and facts.stored_channels == 3:
        out.append(DefaultChoice({"data.channels": 1},
                                 f"the images are stored as RGB but the {facts.sampled} "
                                 "sampled are grey (R = G = B)"))  # fmt: skip
    if facts.side > MAX_SIDE:
        out.append(DefaultChoice({"data.image_size": MAX_SIDE},
                                 f"{facts.height}x{facts.width} images resized to {MAX_SIDE} "
                                 "px (STL-10's side): minutes, not hours, on a CPU"))  # fmt: skip
    if grey and 16 < side <= 32:
        small = round(side * 5 / 7)
        out.append(DefaultChoice({"views.size": small},
                                 f"{side}-px grayscale images: crops resized to {small} px, "
                                 f"evaluated at {side} (the Fashion-MNIST recipe's 20-of-28 "
                                 "views: 1.6x faster and no worse)"))  # fmt: skip
    else:
        out.append(DefaultChoice({"views.size": side},
                                 f"crops resized to the {side}-px image side (SimCLR's CIFAR "
                                 "views: 32-px crops of 32-px images)"))  # fmt: skip
    if side <= 16:
        low, why = 0.5, f"{side}-px images: a smaller crop loses whole strokes"
    elif grey and side <= 32:
        low, why = 0.3, f"{side}-px grayscale images: a crop keeps over half the glyph's side"
    elif side <= 64:
        low, why = 0.2, f"{side}-px images: the CIFAR crops of SimSiam / MoCo v2"
    else:
        low, why = 0.08, f"{side}-px images: SimCLR's ImageNet crops"
    out.append(DefaultChoice({"views.crop_scale": [low, 1.0]}, why))
    glyphs = grey and side <= 64
    out.append(DefaultChoice(
        {"views.flip_p": 0.0 if glyphs else 0.5},
        f"{kind} images up to 64 px are glyph-like (a mirrored glyph is another one); "
        "turn flips on with --set views.flip_p=0.5" if glyphs
        else f"{kind} {side}-px images: mirror images keep their class (SimCLR, solo-learn)",
    ))  # fmt: skip
    if grey and 16 < side <= 64:
        out.append(DefaultChoice({"views.stroke_p": 0.5},
                                 f"{side}-px grayscale images are glyph-like: strokes made "
                                 "1 px thicker or thinner (a font's weight is not its "
                                 "letter)"))  # fmt: skip
    colour = {"views.jitter_p": 0.8, "views.brightness": 0.4, "views.contrast": 0.4}
    colour.update({"views.saturation": 0.0 if grey else 0.4, "views.hue": 0.0 if grey else 0.1,
                   "views.grayscale_p": 0.0 if grey else 0.2})  # fmt: skip
    why = (
        "grayscale images: brightness and contrast jitter only, no colour operations"
        if grey
        else "colour images: SimCLR's colour distortion of strength 0.5"
    )
    out.append(DefaultChoice(colour, why))  # fmt: skip
    blur = side >= 96
    out.append(DefaultChoice(
        {"views.blur_p": 0.5 if blur else 0.0},
        f"{side}-px images: SimCLR's ImageNet blur" if blur
        else f"{side}-px images: no blur below 96 px (SimCLR drops it for 32-px CIFAR)",
    ))  # fmt: skip
    stages = _stages(side)
    out.append(DefaultChoice(
        {"model.backbone": "compact_cnn", "model.widths": _WIDTHS[:stages], "model.pool_size": 2},
        f"{stages} stages halve {side} px to a last map of about "
        f"{math.ceil(side / 2 ** (stages - 1))} px, pooled to a 2x2 grid that keeps the coarse "
        "layout; a CNN that trains fast on a CPU",
    ))  # fmt: skip
    batch = _batch(n_train)
    out.append(DefaultChoice({"train.batch_size": batch},
                             f"{n_train:,} training items: {n_train // batch} batches per "
                             "epoch, 32 to 256 items each"))  # fmt: skip
    out.append(DefaultChoice({"train.epochs": 200, "train.max_time": "10m"},
                             "no budget given: 200 epochs or 10 minutes, whichever ends "
                             "first"))  # fmt: skip
    if facts.labelled and facts.classes:
        hold = monitor_holdout(n_train)
        out.append(DefaultChoice(
            {"data.holdout": hold},
            f"monitor queries: 10% of {n_train:,} training items, at most 1,000"
            if hold else f"no monitor hold-out below 500 training items ({n_train:,})",
        ))  # fmt: skip
        k = default_knn_k(n_train, facts.classes)
        lowered = "" if k == 20 else f", lowered to half an average class ({k})"
        out.append(DefaultChoice(
            {"eval.knn_k": k},
            f"a kNN bank of {n_train:,} in {facts.classes} classes: k=20 (DINO, solo-learn)"
            f"{lowered}; eval.json also reports k=1, 5, 20, 200 where the bank allows",
        ))  # fmt: skip
    return out


def _given(key: str, given: Collection[str]) -> bool:
    """Whether the user set `key` (or its whole section)."""
    return any(key == g or key.startswith(g + ".") for g in given)


def choose_image_defaults(
    facts: ImageFacts, *, test_size: float | None = None, given: Collection[str] = ()
) -> list[DefaultChoice]:
    """The config values an image run without a recipe takes from its data, each with one
    line of why (rules and references in the module docstring).

    Args:
        facts: what `read_image_facts` found.
        test_size: the run's `data.test_size` (None: 0.2), for sources without a test split.
        given: dotted keys the user set (a recipe, a flag, --set); a section name covers its
            keys. Those keys are left out, and with them the whole budget if any budget
            key is given, the size and backbone choices if `model.backbone` is.

    Returns:
        The choices, in the order they are printed; each holds only keys the user left.

    Example:
        >>> facts = ImageFacts("./glyphs", 5000, 28, 28, 1, 1, 10, False)
        >>> chosen = {k: v for c in choose_image_defaults(facts) for k, v in c.values.items()}
        >>> chosen["views.flip_p"], chosen["views.size"], chosen["model.pool_size"]
        (0.0, 20, 2)
    """
    n_train = training_items(facts, test_size)
    budget_given = any(_given(key, given) for key in BUDGET_KEYS)
    backbone_given = _given("model.backbone", given)
    skip = {"data.image_size", "views.size", "model.backbone"} if backbone_given else set()
    out = []
    for choice in _all(facts, n_train):
        if budget_given and set(choice.values) & set(BUDGET_KEYS):
            continue
        if skip & set(choice.values):
            continue
        values = {k: v for k, v in choice.values.items() if not _given(k, given)}
        if values:
            out.append(DefaultChoice(values, choice.reason))
    return out
