"""Views: batched, per-sample random augmentations on tensors; word-level text views."""

from contrastkit.views.graph import GraphViews, NodeViews
from contrastkit.views.image import (
    ColorJitter,
    GaussianBlur,
    Normalize,
    RandomGrayscale,
    RandomResizedCrop,
    RandomSolarize,
    RandomStrokeWidth,
    grayscale,
)
from contrastkit.views.pipeline import Compose, EvalPreprocess, ImageViews, ViewSettings, to_float
from contrastkit.views.tabular import ScarfViews
from contrastkit.views.text import TextViews

__all__ = [
    "ColorJitter",
    "Compose",
    "EvalPreprocess",
    "GaussianBlur",
    "GraphViews",
    "ImageViews",
    "NodeViews",
    "Normalize",
    "RandomGrayscale",
    "RandomResizedCrop",
    "RandomSolarize",
    "RandomStrokeWidth",
    "ScarfViews",
    "TextViews",
    "ViewSettings",
    "grayscale",
    "to_float",
]
