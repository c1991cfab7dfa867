"""The model API: `contrastkit.load(RUN_DIR)` and `Encoder.encode(items)`, every modality.

An `Encoder` is a trained model with the preprocessing of the run that trained it: the
inputs are read by the modality adapter the way the run reads its own data
(`Modality.as_items`) and embedded by the adapter's `embed`, the code path of
`contrastkit embed`, so `load(run).encode(x)` gives the vectors `embed` writes for x.

What each modality encodes:

- image: file paths, PIL images, uint8 arrays, or (N, C, H, W) tensors (uint8, or float in
  [0, 1]) at the run's image size;
- text: strings;
- audio: file paths (resampled), or waveforms at the run's `data.sample_rate` (1-D arrays,
  or an (N, T) array or tensor), padded or cropped to the run's clip length;
- table: a pandas DataFrame, a list of {column: value} rows, or a CSV path;
- graph: node ids of the training graph;
- image-text: strings (captions, text tower) or images (image tower); `kind="image"` reads
  strings as image files; `encode_text` / `encode_image` say it outright;
- interactions: item ids, or user ids with `kind="user"`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from contrastkit.pipeline.embedder import Embedder, load_embedder
from contrastkit.pipeline.evaluate_run import on_device
from contrastkit.train.devices import resolve_device

__all__ = ["Encoder", "load"]


class Encoder:
    """A trained model of any modality, ready to embed inputs given in Python.

    Attributes:
        modality: "image", "text", "audio", "table", "graph", "image-text" or "interactions".
        config: the run's resolved config (`contrastkit.config.Config`).
        source: the folder it was loaded from.
        fingerprint: a digest of its weights (as indexes record it).
    """

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.modality: str = embedder.modality
        self.config = embedder.cfg
        self.source: str = embedder.source
        self.fingerprint: str = embedder.fingerprint

    @property
    def model(self) -> Any:
        """The underlying torch module (the encoder, or the two-tower method)."""
        return self._embedder.model

    def __repr__(self) -> str:
        return f"Encoder(modality={self.modality!r}, source={self.source!r})"

    def encode(
        self,
        items: Any,
        *,
        batch_size: int = 256,
        device: str | torch.device | None = None,
        normalize: bool = False,
        kind: str | None = None,
    ) -> np.ndarray:
        """Embed `items` (see the module docstring for what each modality takes).

        Args:
            items: the inputs; a single path or string counts as one item.
            batch_size: items read and embedded at a time.
            device: where the model runs from now on ("cpu", "cuda", ...); None keeps it.
            normalize: L2-normalise each row.
            kind: the tower of a two-tower model: "image"/"text" or "item"/"user".

        Returns:
            (N, D) float32 embeddings, on the CPU.

        Raises:
            ContrastkitError: inputs this modality does not take (one sentence).

        Example:
            >>> enc = contrastkit.load("runs/simclr-fashion-mnist")
            >>> enc.encode(["shoe.png", "shirt.png"]).shape
            (2, 512)
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        e = self._embedder
        if device is not None:
            where = device if isinstance(device, torch.device) else resolve_device(device)
            e.model = on_device(e.model, where)
        chunks = [items] if _is_single(items) else _chunks(items, batch_size)
        out = [
            e.embed_items(e.modality_adapter.as_items(e.cfg, e.data, chunk, kind)).vectors
            for chunk in chunks
        ]
        z = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
        if normalize:
            z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        return z.astype(np.float32, copy=False)

    def encode_image(self, images: Any, **kwargs: Any) -> np.ndarray:
        """Images into the image tower of an image-text model: `encode(kind="image")`."""
        return self.encode(images, kind="image", **kwargs)

    def encode_text(self, texts: Any, **kwargs: Any) -> np.ndarray:
        """Texts into the text tower of an image-text model: `encode(kind="text")`."""
        return self.encode(texts, kind="text", **kwargs)


def _is_single(items: Any) -> bool:
    return isinstance(items, str | Path) or type(items).__name__ in ("DataFrame", "Image")


def _chunks(items: Any, size: int) -> list[Any]:
    """Batches of `size` items: slices of a tensor, array or list."""
    if not isinstance(items, torch.Tensor | np.ndarray):
        items = list(items)
    return [items[i : i + size] for i in range(0, len(items), size)]


def load(path: str | Path, device: str | torch.device = "auto") -> Encoder:
    """The trained model of a run folder or an export folder, on `device`.

    What loading reads: config.yaml, the weights and preprocess.json (how the run reads
    inputs: image size, channels and normalisation; audio sample rate, clip length and
    log-mel settings; the table schema.json; the text model/ folder), never the training
    data, for image, audio, table, text and image-text models: a copied folder loads on
    a machine without the data. Graph and interactions models encode node and item ids
    with the training graph and histories, so they read their training data as
    config.yaml names it. A run from before preprocess.json reads its training data once
    (a one-line notice) and writes the file.

    Args:
        path: a folder `contrastkit train` wrote; one `contrastkit export --format
            safetensors` wrote (the same, without checkpoints); one `contrastkit export
            --format onnx` wrote (image, audio, table: `encode` runs ONNX Runtime, from
            the `export` extra, on the same preprocessing); or a sentence-transformers
            folder (a text model).
        device: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N", "mps".

    Raises:
        ContrastkitError: not such a folder, the run has not finished, or a file loading
            needs (preprocess.json, schema.json, model/, ...) is missing or malformed:
            one sentence naming it.
        MissingExtraError: an ONNX export without onnxruntime installed.

    Example:
        >>> import contrastkit
        >>> enc = contrastkit.load("runs/simclr-wine")
        >>> enc.encode([{"alcohol": 13.2, "malic_acid": 1.8, ...}]).shape
        (1, 256)
    """
    return Encoder(load_embedder(path, device, data_free=True))
