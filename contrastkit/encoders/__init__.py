"""Encoders: backbones that map inputs to (B, D) features.

Text encoders (`contrastkit.encoders.text`) import transformers lazily: the `text` extra.
"""

from contrastkit.encoders.graph import GraphEncoder
from contrastkit.encoders.tabular import TabularMLP
from contrastkit.encoders.vision import (
    VISION_BACKBONES,
    CompactCNN,
    as_encoder,
    build_vision_encoder,
    infer_output_dim,
    resnet,
)

__all__ = [
    "VISION_BACKBONES",
    "CompactCNN",
    "GraphEncoder",
    "TabularMLP",
    "as_encoder",
    "build_vision_encoder",
    "infer_output_dim",
    "resnet",
]
