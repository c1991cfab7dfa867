"""Batched image views from a resolved views section (images and image-text pairs)."""

from __future__ import annotations

from contrastkit.modalities.sections import ImageViewsConfig
from contrastkit.views.pipeline import ImageViews, ViewSettings

__all__ = ["build_image_views"]


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
