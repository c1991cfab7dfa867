"""A PCA rotation for a text encoder's output: its first features carry the most variance.

Truncating an embedding to its first m features (Matryoshka evaluation, smaller indexes)
keeps whatever those features happen to hold; a pretrained model's features are in no
particular order. `pca_rotation` finds the orthogonal matrix whose rows are the principal
axes of a sample of embeddings, largest variance first. Applied after pooling (and before
normalisation) it leaves every full-size cosine similarity exactly as it was, since it is
orthogonal, while the first m features become the best m-dimensional linear summary of
the sample. A Matryoshka fine-tune can then start from that order instead of building it
(`TextEncoder.fit_pca_rotation`).

The rotation is saved as a sentence-transformers `Dense` module (square, no bias, identity
activation), so `SentenceTransformer(path)` applies it too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.errors import ContrastkitError

__all__ = ["load_rotation", "pca_rotation", "rotation_layer", "save_rotation"]

_IDENTITY = "torch.nn.modules.linear.Identity"
_TANH = "torch.nn.modules.activation.Tanh"  # sentence-transformers' default activation
_WEIGHT = "linear.weight"


def pca_rotation(embeddings: Tensor) -> Tensor:
    """(N, D) embeddings -> (D, D) orthogonal matrix R whose row i is the i-th principal
    axis (descending variance; each axis's sign set so its largest entry is positive, for
    a result that does not depend on the eigensolver). `x @ R.T` rotates (.., D) rows."""
    x = embeddings.detach().double()
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"embeddings must be (N >= 2, D), got {tuple(x.shape)}")
    _, axes = torch.linalg.eigh(torch.cov(x.T))  # ascending eigenvalues, axes as columns
    rows = axes.flip(1).T
    peak = rows.gather(1, rows.abs().argmax(1, keepdim=True))
    return (rows * peak.sign()).float()


def rotation_layer(weight: Tensor) -> nn.Linear:
    """A (D, D) bias-free linear layer holding `weight` (y = x @ weight.T)."""
    if weight.ndim != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(f"a rotation is a square (D, D) matrix, got {tuple(weight.shape)}")
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer


def save_rotation(folder: Path, layer: nn.Linear) -> None:
    """Write `layer` as a sentence-transformers Dense module folder."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    dim = layer.weight.shape[1]
    config = {"in_features": dim, "out_features": layer.weight.shape[0], "bias": False,
              "activation_function": _IDENTITY}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file({_WEIGHT: layer.weight.detach().cpu().contiguous()}, folder / "model.safetensors")


def load_rotation(folder: Path) -> nn.Linear:
    """A Dense module folder written by `save_rotation` (or sentence-transformers, if it is
    square, bias-free and without activation) -> the layer; anything else is an error
    naming what differs, since ignoring it would give other embeddings than the model's."""
    from safetensors.torch import load_file

    config: dict[str, Any] = json.loads((folder / "config.json").read_text())
    found = {
        "bias": config.get("bias", True),
        "activation_function": config.get("activation_function", _TANH),
        "square": config.get("in_features") == config.get("out_features"),
    }
    expected = {"bias": False, "activation_function": _IDENTITY, "square": True}
    wrong = {k: v for k, v in found.items() if v != expected[k]}
    if wrong:
        raise ContrastkitError(
            f"{folder}: only a square Dense module without bias or activation (a rotation) "
            f"is supported, got {wrong} (expected {expected})"
        )
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ContrastkitError(f"{folder}: no model.safetensors (the Dense module's weight)")
    return rotation_layer(load_file(weights)[_WEIGHT])
