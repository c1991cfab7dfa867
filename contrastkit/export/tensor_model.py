"""The tensor-in, tensor-out part of a run's model, for runtimes without contrastkit (ONNX,
TorchScript): the encoder, real example inputs and the preprocessing that makes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.errors import ContrastkitError

__all__ = ["TENSOR_MODALITIES", "TensorModel", "tensor_model"]

TENSOR_MODALITIES = ("image", "audio", "table")


@dataclass
class TensorModel:
    """An encoder that maps one float tensor to (N, D) embeddings.

    Attributes:
        module: the encoder, on the CPU, in eval mode, float32.
        example: (8, ...) real inputs of the run (its test split when it has one),
            preprocessed: what `module` takes.
        preprocessing: how raw items become `example`-like inputs (written to
            preprocessing.json and the model card).
        input_name: "pixels", "waveform" or "features".
        record: the run's preprocess.json (`contrastkit.pipeline.preprocess`), with which
            `contrastkit.load` reads inputs for an ONNX export.
    """

    module: nn.Module
    example: Tensor
    preprocessing: dict[str, Any]
    input_name: str
    record: dict[str, Any] | None = None


def tensor_model(run_dir: str | Path, examples: int = 8) -> TensorModel:
    """The run's encoder as a `TensorModel` (image, audio and table runs).

    Raises:
        ContrastkitError: another modality (one sentence naming the formats that fit it).
    """
    from contrastkit.pipeline.embedder import load_embedder
    from contrastkit.pipeline.preprocess import preprocess_record

    e = load_embedder(run_dir, "cpu")
    if e.modality not in TENSOR_MODALITIES:
        raise ContrastkitError(
            f"a {e.modality} model does not take one tensor, so it has no ONNX or TorchScript "
            "export; use --format safetensors"
            + (" or sentence-transformers" if e.modality in ("text", "image-text") else "")
        )
    cfg, data = e.cfg, e.data
    split = "test" if getattr(data, "test", None) is not None else "train"
    items = e.item_set(None, split).items[:examples]
    prepare = e.modality_adapter.embed_input(cfg, data)
    with torch.no_grad():
        example = (prepare(items) if prepare is not None else items).float()
    module = e.model.float().eval()
    record = preprocess_record(cfg, e.modality_adapter, data)
    return TensorModel(module, example, _preprocessing(e, example), _INPUT[e.modality], record)


_INPUT = {"image": "pixels", "audio": "waveform", "table": "features"}


def _preprocessing(e: Any, example: Tensor) -> dict[str, Any]:
    cfg = e.cfg
    shape = "(N, " + ", ".join(str(n) for n in example.shape[1:]) + ")"
    if e.modality == "image":
        v = cfg.views
        return {
            "input": f"pixels: {shape} float32",
            "steps": "decode to uint8 (grey 'L' or RGB), resize to data.image_size (PIL "
            "bilinear), divide by 255, resize to size x size (bilinear, antialiased) if it "
            "differs, subtract mean and divide by std per channel",
            "image_size": cfg.data.image_size,
            "size": int(example.shape[-1]),
            "channels": int(example.shape[1]),
            "mean": list(v.mean),
            "std": list(v.std),
        }
    if e.modality == "audio":
        d = cfg.data
        return {
            "input": f"waveform: {shape} float32, mono, in [-1, 1]",
            "steps": "mix to mono, resample to sample_rate, keep the first `samples` samples "
            "(pad with zeros at the end); the log-mel front end is inside the model",
            "sample_rate": d.sample_rate,
            "samples": int(example.shape[-1]),
        }
    s = e.data.schema
    return {
        "input": f"features: {shape} float32, rows packed by schema.json",
        "steps": "[numeric columns: missing -> training median, then (x - mean) / std | "
        "0/1 missing indicators | categorical codes (0 missing, 1 unseen, category j -> "
        "j + 2)], statistics and categories in schema.json",
        "numeric": list(s.numeric),
        "categorical": list(s.categorical),
        "schema": "schema.json",
    }
