"""One interface over trained models of every modality: `load_embedder(RUN_DIR)` returns
an `Embedder` (`contrastkit.pipeline.embedding`, re-exported here). What a folder
holds is read from its config.yaml; a text model folder (or "minilm") without one is
embedded as a pretrained sentence encoder.
"""

from __future__ import annotations

from pathlib import Path

import torch

from contrastkit.errors import ContrastkitError
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.embedding import ONNX_FILE, Embedder, Items, fingerprint
from contrastkit.pipeline.preprocess import inference_data
from contrastkit.pipeline.settings import CONFIG_FILE, read_run_config
from contrastkit.train.devices import resolve_device

__all__ = ["ONNX_FILE", "Embedder", "Items", "fingerprint", "load_embedder"]


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
