"""Views: batched, per-sample random augmentations on tensors."""

from contrastkit.views.image import (
    ColorJitter,
    GaussianBlur,
    Normalize,
    RandomGrayscale,
    RandomResizedCrop,
    RandomSolarize,
    grayscale,
)
from contrastkit.views.pipeline import Compose, EvalPreprocess, ImageViews, ViewSettings, to_float

__all__ = [
    "ColorJitter",
    "Compose",
    "EvalPreprocess",
    "GaussianBlur",
    "ImageViews",
    "Normalize",
    "RandomGrayscale",
    "RandomResizedCrop",
    "RandomSolarize",
    "ViewSettings",
    "grayscale",
    "to_float",
]
