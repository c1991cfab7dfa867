"""Methods: each owns its networks and turns a batch of views into a loss."""

from contrastkit.methods.base import Batch, Method, Output, embedding_std
from contrastkit.methods.simclr import SimCLR

METHODS: dict[str, type[Method]] = {"simclr": SimCLR}

__all__ = ["METHODS", "Batch", "Method", "Output", "SimCLR", "embedding_std"]
