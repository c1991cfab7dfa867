"""Encoders: backbones that map inputs to (B, D) features.

Text encoders (`contrastkit.encoders.text`) and Hugging Face vision folders
(`contrastkit.encoders.backbones`) import transformers lazily: the `text` extra.
"""

from contrastkit.encoders.backbones import (
    BackboneInput,
    ExternalBackbone,
    build_backbone,
    check_backbone,
)
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
from contrastkit.encoders.weights import fit_state_dict, load_backbone_weights, read_state_dict

__all__ = [
    "VISION_BACKBONES",
    "BackboneInput",
    "CompactCNN",
    "ExternalBackbone",
    "GraphEncoder",
    "TabularMLP",
    "as_encoder",
    "build_backbone",
    "build_vision_encoder",
    "check_backbone",
    "fit_state_dict",
    "infer_output_dim",
    "load_backbone_weights",
    "read_state_dict",
    "resnet",
]
