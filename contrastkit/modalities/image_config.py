"""Config sections of image data, shared by the image and image-text modalities."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from contrastkit.config import DataConfig, ModelConfig, ViewsConfig
from contrastkit.views.pipeline import ImageViews, ViewSettings

__all__ = ["ImageDataConfig", "ImageModelConfig", "ImageViewsConfig", "build_image_views"]


class ImageDataConfig(DataConfig):
    data_dir: str | None = Field(None, description="where a named dataset's files are")
    image_size: int | None = Field(None, ge=4, le=1024, description="resize images to this")
    channels: Literal[1, 3] | None = None
    holdout: int = Field(
        1000, ge=0, description="labelled training items held out as kNN-monitor queries"
    )
    monitor_bank: int = Field(10000, ge=0, description="labelled items in the kNN-monitor bank")
    exclude_classes: list[int] = Field(
        default_factory=list,
        description="labels left out of training (e.g. to train on 'normal' classes only)",
    )


class ImageModelConfig(ModelConfig):
    backbone: Literal["compact_cnn", "resnet18", "resnet34", "resnet50"] = "compact_cnn"
    small_input: bool = True
    widths: list[int] = Field(default_factory=lambda: [32, 64, 128, 256], min_length=1)
    blocks: int | list[int] = 1
    pool_size: int = Field(1, ge=1, le=8, description="compact_cnn: final avg-pool grid side")

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, v: list[int]) -> list[int]:
        if min(v) < 1:
            raise ValueError(f"every width must be >= 1, got {v}")
        return v


class ImageViewsConfig(ViewsConfig):
    size: int | None = Field(None, ge=4, le=1024, description="view size (default: image size)")
    eval_size: int | None = Field(
        None, ge=4, le=1024, description="resize for embedding (default: keep the image size)"
    )
    local_views: int = Field(0, ge=0, le=16, description="extra small multi-crop views")
    local_size: int = Field(12, ge=4, le=1024)
    local_crop_scale: tuple[float, float] = (0.05, 0.4)
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (0.75, 4 / 3)
    flip_p: float = Field(0.5, ge=0, le=1)
    jitter_p: float = Field(0.8, ge=0, le=1)
    brightness: float = Field(0.4, ge=0)
    contrast: float = Field(0.4, ge=0)
    saturation: float = Field(0.4, ge=0)
    hue: float = Field(0.1, ge=0, le=0.5)
    grayscale_p: float = Field(0.2, ge=0, le=1)
    blur_p: float = Field(0.5, ge=0, le=1)
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = Field(0.0, ge=0, le=1)
    mean: list[float] | None = Field(None, description="per-channel mean; None: from the data")
    std: list[float] | None = Field(None, description="per-channel std; None: from the data")

    @field_validator("crop_scale", "local_crop_scale")
    @classmethod
    def _scale(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1] <= 1:
            raise ValueError(f"must be (min, max) with 0 < min <= max <= 1, got {list(v)}")
        return v

    @field_validator("crop_ratio", "blur_sigma")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1]:
            raise ValueError(f"must be (min, max) with 0 < min <= max, got {list(v)}")
        return v


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
