"""One interface over trained models of every modality: `load_embedder(RUN_DIR)`.

An `Embedder` embeds a run's own items (a split), another source read the way the run
reads its data, or a single query (a text, or a file such as an image), and carries the
model's fingerprint so an index can refuse queries from another encoder. What a folder
holds is read from its config.yaml; a text model folder (or "minilm") without one is
embedded as a pretrained sentence encoder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from contrastkit.errors import ContrastkitError
from contrastkit.modalities.base import ItemSet
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.preprocess import inference_data
from contrastkit.pipeline.settings import CONFIG_FILE, read_run_config
from contrastkit.progress import bar, progress_bars
from contrastkit.train.devices import resolve_device

__all__ = ["ONNX_FILE", "Embedder", "Items", "fingerprint", "load_embedder"]

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


def load_embedder(
    path: str | Path, device: str | torch.device = "auto", *, data_free: bool = False
) -> Embedder:
    """The embedder of a run folder (any modality), an ONNX export, a text model folder,
    or "minilm", with its model on `device` ("auto", "cpu", "cuda", "cuda:N", "mps" or a
    torch device); the embeddings come back to the CPU. With `data_free`, a run folder's
    model is loaded as its preprocess.json says, without reading its training data
    (`contrastkit.pipeline.preprocess`; graph and interactions models read it anyway).

    Raises:
        ConfigError: `device` is misspelt or missing on this machine (before any work).
        ContrastkitError: the folder is neither a run folder nor a model folder, or a file
            that loading needs is missing or malformed.
    """
    from contrastkit.pipeline.evaluate_run import load_run_model, on_device

    where = device if isinstance(device, torch.device) else resolve_device(device, key="--device")
    folder = Path(path)
    if (folder / ONNX_FILE).is_file():
        from contrastkit.pipeline.onnx_model import load_onnx_embedder

        return load_onnx_embedder(folder, where)
    if (folder / CONFIG_FILE).is_file() and data_free:
        cfg = read_run_config(folder)
        modality = get_modality(cfg.data.modality)
        cfg, data, free = inference_data(folder, cfg, modality)
        model = on_device(modality.load_trained(cfg, data, folder), where)
        return Embedder(cfg, modality, data, model, str(folder.resolve()), data_free=free)
    if (folder / CONFIG_FILE).is_file():
        cfg, modality, data, model = load_run_model(folder, where)
        return Embedder(cfg, modality, data, model, str(folder.resolve()))
    if str(path) == "minilm" or (folder / "config.json").is_file():
        embedder = _pretrained_text_model(str(path))
        embedder.model = on_device(embedder.model, where)
        return embedder
    raise ContrastkitError(
        f"{path} is not a run folder (no {CONFIG_FILE}) nor a text model folder (no "
        "config.json); pass a folder that `contrastkit train` wrote, a sentence-transformers "
        "folder or minilm"
    )


def _pretrained_text_model(name: str) -> Embedder:
    """A text model folder (or "minilm") as it is: it embeds text files and text queries."""
    from contrastkit.encoders.text import TextEncoder, minilm_path
    from contrastkit.modalities.text import TextPrepared
    from contrastkit.pipeline.settings import validate_config

    tree = {"data": {"dataset": name, "modality": "text"}, "model": {"name": name}}
    cfg = validate_config({**tree, "train": {"steps": 1}})  # no training: any budget
    path = minilm_path() if name == "minilm" else Path(name)
    model = TextEncoder.from_pretrained(path)
    data = TextPrepared(f"the text model {name}", None)
    source = name if name == "minilm" else str(Path(name).resolve())
    return Embedder(cfg, get_modality("text"), data, model, source)
