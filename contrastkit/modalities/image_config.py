"""Image views and encoders from resolved config sections (images and image-text pairs).

Backbones of other libraries (`model.backbone` = torchvision:NAME, timm:NAME, or a Hugging
Face folder) bring what they expect of their input: `fit_views_to_backbone` sets the view
size of a fixed-size model (a ViT), and the normalisation of pretrained weights where the
user left `views.mean`/`views.std` unset.
"""

from __future__ import annotations

import sys
from typing import Any

from torch import nn

from contrastkit.config import Config
from contrastkit.encoders.backbones import BackboneInput, backbone_kind
from contrastkit.encoders.vision import build_vision_encoder
from contrastkit.errors import ConfigError
from contrastkit.modalities.sections import ImageModelConfig, ImageViewsConfig
from contrastkit.train import ddp
from contrastkit.views.pipeline import ImageViews, ViewSettings

__all__ = [
    "build_image_encoder",
    "build_image_views",
    "check_backbone_keys",
    "fit_views_to_backbone",
    "has_pretrained",
    "image_preprocessing",
    "with_image_preprocessing",
]

# the model keys each kind of backbone takes besides `backbone` (the rest are refused)
_KEYS = {
    "builtin": {"weights"},
    "torchvision": {"weights", "input_size", "backbone_args"},
    "timm": {"weights", "input_size", "patch_size", "backbone_args"},
    "huggingface": set(),
}
_OPTIONAL = ("weights", "input_size", "patch_size", "backbone_args")


def build_image_views(v: ImageViewsConfig) -> ImageViews:
    """The batched image views of a resolved views section (size, mean and std filled in)."""
    settings = ViewSettings(
        **{
            name: tuple(value) if isinstance(value, list | tuple) else value
            for name, value in v.model_dump().items()
            if name in ViewSettings.__dataclass_fields__
        }
    )
    return ImageViews.from_settings(settings)


def check_backbone_keys(m: ImageModelConfig) -> None:
    """Refuse model keys the chosen backbone does not take (before any data is read).

    Raises:
        ConfigError: e.g. `model.patch_size` with a torchvision or built-in backbone, or
            `model.weights` with a Hugging Face folder (which holds its own).
    """
    kind = backbone_kind(m.backbone)
    for key in _OPTIONAL:
        if getattr(m, key) and key not in _KEYS[kind]:
            takers = [k for k, keys in _KEYS.items() if key in keys]
            raise ConfigError(
                f"config key 'model.{key}' does not apply to the backbone {m.backbone} "
                f"(it applies to {', '.join(takers)} backbones)"
            )


def has_pretrained(m: ImageModelConfig) -> bool:
    """Whether the backbone starts from pretrained weights (a weights file or a HF folder)."""
    return m.weights is not None or backbone_kind(m.backbone) == "huggingface"


def build_image_encoder(
    m: ImageModelConfig, channels: int, *, pretrained: bool = True
) -> nn.Module:
    """The model section's encoder for `channels`-channel images; `pretrained=False` leaves
    out `model.weights` (and a Hugging Face folder's weights): the random-init baseline."""
    return build_vision_encoder(
        m.backbone, channels, small_input=m.small_input, widths=m.widths, blocks=m.blocks,
        pool_size=m.pool_size, weights=m.weights, pretrained=pretrained,
        image_size=m.input_size, patch_size=m.patch_size, backbone_args=m.backbone_args,
    )  # fmt: skip


def fit_views_to_backbone(cfg: Config, channels: int) -> list[str]:
    """Fill in (on `cfg`) what the backbone expects and the user left unset; say what.

    The backbone is built once here, with its weights, so weights or arguments that do not
    fit stop a run before its config is written.

    - A fixed input side (ViTs): `views.size` and `views.eval_size` become it.
    - The normalisation of pretrained weights (timm's pretrained_cfg, torchvision's weights
      transforms, a folder's preprocessor_config.json): `views.mean`/`views.std` become
      it; averaged over RGB for 1-channel images (which the backbone sees repeated).
      A randomly initialised backbone keeps the data's own statistics.

    Returns:
        One line per value chosen (also printed), e.g. "views.size=views.eval_size=28
        (its input side)".

    Raises:
        ConfigError: weights that do not fit, an argument the backbone does not take,
            `views.size`/`eval_size` set to another side than a fixed-size backbone takes,
            or multi-crop `views.local_views` with one.
    """
    m, v = cfg.model, cfg.views
    if backbone_kind(m.backbone) == "builtin" and m.weights is None:
        return []
    spec: BackboneInput | None = getattr(build_image_encoder(m, channels), "input_spec", None)
    if spec is None:  # a built-in backbone
        return []
    notes = []
    if spec.size is not None:
        for key in ("size", "eval_size"):
            given = getattr(v, key)
            if given is not None and given != spec.size:
                rebuild = "input_size" in _KEYS[backbone_kind(m.backbone)]
                raise ConfigError(
                    f"config key 'views.{key}': {m.backbone} takes {spec.size}x{spec.size} "
                    f"inputs, not {given}; leave views.{key} unset"
                    + (f", or build the model for {given} with model.input_size={given}"
                       if rebuild else "")
                )  # fmt: skip
        if v.local_views:
            raise ConfigError(
                f"config key 'views.local_views': {m.backbone} takes {spec.size}x{spec.size} "
                "inputs only, so it cannot embed small multi-crop views; set it to 0"
            )
        if v.size is None or v.eval_size is None:
            notes.append(f"views.size=views.eval_size={spec.size} (its input side)")
        v.size = v.eval_size = spec.size
    if (v.mean is None or v.std is None) and has_pretrained(m) and spec.mean and spec.std:
        mean, std = list(spec.mean), list(spec.std)
        if channels == 1 and len(mean) > 1:
            mean, std = [sum(mean) / len(mean)], [sum(std) / len(std)]
        if len(mean) == channels:
            v.mean, v.std = [round(x, 4) for x in mean], [round(x, 4) for x in std]
            notes.append(f"views.mean={v.mean} views.std={v.std} (from {spec.source})")
    if ddp.is_main():
        for note in notes:
            print(f"{m.backbone}: {note}", file=sys.stderr)
    return notes


def image_preprocessing(cfg: Config, channels: int) -> dict[str, Any]:
    """How a resolved config reads and normalises images for embedding (preprocess.json):
    the side they are decoded at (`data.image_size`, None: as they are), `channels`, the
    side the encoder sees (`views.eval_size`, None: `views.size`) and the per-channel
    normalisation (None: none)."""
    v = cfg.views
    return {
        "image_size": cfg.data.image_size,
        "channels": channels,
        "size": v.size,
        "eval_size": v.eval_size,
        "mean": None if v.mean is None else list(v.mean),
        "std": None if v.std is None else list(v.std),
    }


def with_image_preprocessing(cfg: Config, record: dict[str, Any]) -> Config:
    """A copy of `cfg` reading images as `record` (from `image_preprocessing`) says.

    Raises:
        KeyError: a key of the record is missing.
        ValueError: mean/std do not have one value per channel.
    """
    cfg = cfg.model_copy(deep=True)
    channels, mean, std = int(record["channels"]), record["mean"], record["std"]
    sizes = {None if x is None else len(x) for x in (mean, std)}
    if sizes not in ({None}, {channels}):
        raise ValueError(f"'mean' and 'std' must both hold {channels} values (one per channel)")
    cfg.data.image_size = record["image_size"]
    cfg.views.size, cfg.views.eval_size = record["size"], record["eval_size"]
    cfg.views.mean, cfg.views.std = mean, std
    return cfg
