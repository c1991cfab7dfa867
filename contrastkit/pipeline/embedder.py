"""One interface over trained encoders: image run folders and text model folders.

`load_embedder(path)` returns an `Embedder` that embeds a whole source (a named dataset,
an image folder or a text file) or a single query (an image file or a text), and carries
the encoder's fingerprint so an index can refuse queries from another encoder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from contrastkit.errors import ContrastkitError


def fingerprint(module: torch.nn.Module) -> str:
    """A 16-hex-digit digest of a module's weights and buffers (names, shapes, values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()[:16]


@dataclass
class Items:
    """Embedded items: vectors (N, D) float32, ids (N,), optional labels (N,) and texts."""

    vectors: np.ndarray
    ids: list[str]
    labels: np.ndarray | None = None
    texts: list[str] | None = None
    name: str = ""


class Embedder:
    """A frozen encoder with the preprocessing of the run that trained it."""

    modality: str = "image"
    source: str = ""
    fingerprint: str = ""

    def embed_source(self, source: str | None, split: str = "train", **options) -> Items:
        raise NotImplementedError

    def embed_query(self, query: str) -> np.ndarray:
        """One query (an image path, or a text) -> (1, D) embedding."""
        raise NotImplementedError


class ImageEmbedder(Embedder):
    """The encoder of a `contrastkit train` run folder."""

    modality = "image"

    def __init__(self, run_dir: str | Path) -> None:
        from contrastkit.pipeline.runs import load_trained_encoder, read_config

        self.cfg = read_config(run_dir)
        self.channels = len(self.cfg.views.mean or [1])
        self.encoder = load_trained_encoder(run_dir, self.cfg, self.channels)
        self.source = str(Path(run_dir).resolve())
        self.fingerprint = fingerprint(self.encoder)

    def embed_images(self, images: torch.Tensor) -> np.ndarray:
        from contrastkit.pipeline.evaluate_run import embed_images

        return embed_images(self.encoder, images, self.cfg).numpy()

    def embed_source(self, source: str | None, split: str = "train", **options) -> Items:
        from contrastkit.data.registry import load_dataset

        data = load_dataset(
            source or self.cfg.data.dataset,
            split,
            data_dir=self.cfg.data.data_dir if source is None else None,
            image_size=self.cfg.data.image_size,
            channels=self.channels,
        )
        labels = None if data.labels is None else data.labels.numpy()
        return Items(self.embed_images(data.images), list(data.ids), labels, name=data.name)

    def embed_query(self, query: str) -> np.ndarray:
        from contrastkit.data.folder import load_image_file

        size = self.cfg.data.image_size
        image = load_image_file(query, image_size=size, channels=self.channels)
        return self.embed_images(image[None])


class TextEmbedder(Embedder):
    """A text model folder, a `train-text` run folder, or "minilm"."""

    modality = "text"

    def __init__(self, model: str | Path) -> None:
        from contrastkit.encoders.text import TextEncoder, minilm_path

        path = Path(model)
        if (path / "model" / "config.json").is_file():
            path = path / "model"
        path = minilm_path() if str(model) == "minilm" else path
        self.encoder = TextEncoder.from_pretrained(path)
        self.source = "minilm" if str(model) == "minilm" else str(path.resolve())
        self.fingerprint = fingerprint(self.encoder)

    def embed_texts(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self.encoder.encode(texts, progress=progress).numpy()

    def embed_source(self, source: str | None, split: str = "train", **options) -> Items:
        from contrastkit.data.text import load_texts

        if source is None:
            raise ContrastkitError("a text model embeds a text file: pass --dataset/--data FILE")
        columns = options.get("columns")
        data = load_texts(source, columns=columns)
        texts = list(data.anchor)
        if not texts:
            raise ContrastkitError(f"{source} holds no texts to embed")
        ids = options.get("ids") or [str(i) for i in range(len(texts))]
        labels = None if data.label is None else np.unique(data.label, return_inverse=True)[1]
        vectors = self.embed_texts(texts, progress=options.get("progress", False))
        return Items(vectors, ids, labels, texts, name=Path(source).stem)

    def embed_query(self, query: str) -> np.ndarray:
        return self.embed_texts([query])


def load_embedder(path: str | Path) -> Embedder:
    """An image run folder -> ImageEmbedder; a text model or train-text run -> TextEmbedder."""
    from contrastkit.pipeline.text_run import is_text_model

    if is_text_model(path):
        return TextEmbedder(path)
    return ImageEmbedder(path)
