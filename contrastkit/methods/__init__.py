"""Methods: each owns its networks and turns a batch of views into a loss."""

from contrastkit.methods.base import Batch, Method, Output, embedding_std
from contrastkit.methods.moco import MoCo
from contrastkit.methods.moco_v3 import MoCoV3
from contrastkit.methods.registry import METHODS
from contrastkit.methods.simclr import SimCLR

__all__ = [
    "METHODS",
    "Batch",
    "Method",
    "MoCo",
    "MoCoV3",
    "Output",
    "SimCLR",
    "embedding_std",
]
