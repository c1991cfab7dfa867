"""`Embedder`: a trained model of any modality with the preprocessing of its run, and the
embedded `Items` it returns (`contrastkit.pipeline.embedder.load_embedder` builds one).

An `Embedder` embeds a run's own items (a split), another source read the way the run
reads its data, or a single query (a text, or a file such as an image), and carries the
model's fingerprint so an index can refuse queries from another encoder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from contrastkit.modalities.base import ItemSet
from contrastkit.progress import bar, progress_bars

__all__ = ["ONNX_FILE", "Embedder", "Items", "fingerprint"]

ONNX_FILE = "model.onnx"  # an ONNX export's model (`contrastkit.export.onnx`)


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
    """A run's trained model with the preprocessing of the run that trained it.

    Args:
        cfg, modality, data, model: as `load_run_model` returns them.
        source: the folder (or model name) it came from, recorded in indexes.
        data_free: `data` was built from preprocess.json without reading the training
            data; the run's own items (`item_set` without a source) read it then.
    """

    def __init__(self, cfg, modality, data, model, source: str, data_free: bool = False) -> None:
        self.cfg, self.modality_adapter, self.data, self.model = cfg, modality, data, model
        self.modality = modality.name
        self.source = source
        self.data_free = data_free
        self.fingerprint = fingerprint(model)

    def embed_items(self, items: ItemSet, progress: bool = False) -> Items:
        """Embed `items`; with `progress`, a chunk at a time under a progress bar (where the
        modality allows, see `Modality.embed_chunk`)."""
        m, chunk = self.modality_adapter, self.modality_adapter.embed_chunk
        if progress and chunk and len(items) > chunk:
            parts = []
            with bar(len(items), "embed", shown=True) as shown, progress_bars(False):
                for start in range(0, len(items), chunk):  # one bar: none inside `embed`
                    part = items.part(start, start + chunk)
                    parts.append(np.asarray(m.embed(self.model, part, self.cfg, self.data)))
                    shown.update(len(part))
            vectors = np.concatenate(parts)
        else:
            vectors = m.embed(self.model, items, self.cfg, self.data)
        return Items(np.asarray(vectors, dtype=np.float32), items.ids, items.labels,
                     items.texts, items.name)  # fmt: skip

    def item_set(self, source: str | None = None, split: str = "train") -> ItemSet:
        """The run's own `split`, or `source` (another dataset or file) read like the run's."""
        m = self.modality_adapter
        if source is None:
            if self.data_free:  # loaded without the training data: read it now
                self.data, self.data_free = m.prepare(self.cfg, Path(self.source)), False
            return m.items(self.cfg, self.data, split)
        return m.read_source(self.cfg, self.data, source, split)

    def embed_source(
        self, source: str | None = None, split: str = "train", progress: bool = False
    ) -> Items:
        return self.embed_items(self.item_set(source, split), progress)

    def embed_query(self, query: str, kind: str) -> np.ndarray:
        """One query -> (1, D): `kind` "text" (the query itself) or "file" (its path)."""
        items = self.modality_adapter.read_query(self.model, self.cfg, self.data, query, kind)
        return self.embed_items(items).vectors
