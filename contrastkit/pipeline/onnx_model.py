"""An ONNX export as a model `contrastkit.load` returns: ONNX Runtime runs the encoder,
and inputs are read by the run's own preprocessing (the export's config.yaml and
preprocess.json, through the modality adapter), so `load(export).encode(x)` matches
`load(run).encode(x)` to float32 rounding (image, audio and table models)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit.errors import ContrastkitError
from contrastkit.extras import require
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.embedding import ONNX_FILE, Embedder
from contrastkit.pipeline.preprocess import PREPROCESS_FILE, inference_data
from contrastkit.pipeline.settings import CONFIG_FILE, read_run_config

__all__ = ["OnnxEncoder", "load_onnx_embedder"]

STEPS_FILE = "preprocessing.json"  # the export's input name and steps (`export.onnx`)


class OnnxEncoder(nn.Module):
    """An ONNX Runtime session behind the interface of a torch encoder.

    Args:
        path: the model.onnx file (one float32 input, output (N, D) embeddings).
        input_name: the name of its input ("pixels", "waveform", "features").
        device: CUDA runs on ONNX Runtime's CUDA provider where it is installed; anything
            else on its CPU provider, with torch's intra-op thread count.

    Call with a (N, ...) tensor; returns (N, D) float32 on the input's device. The buffer
    `onnx_sha256` (the file's digest) makes `fingerprint` that of the file.
    """

    def __init__(self, path: Path, input_name: str, device: torch.device) -> None:
        super().__init__()
        ort = require("onnxruntime", extra="export", purpose="loading an ONNX export")
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.input_name = input_name
        digest = hashlib.sha256(Path(path).read_bytes()).digest()
        self.register_buffer("onnx_sha256", torch.tensor(list(digest), dtype=torch.uint8))

    def forward(self, x: Tensor) -> Tensor:
        feed = {self.input_name: x.detach().float().cpu().contiguous().numpy()}
        return torch.from_numpy(self.session.run(None, feed)[0]).to(x.device)


def load_onnx_embedder(folder: Path, device: torch.device) -> Embedder:
    """The `Embedder` of an ONNX export folder (`contrastkit export RUN --format onnx`).

    Raises:
        ContrastkitError: a file it needs (config.yaml, preprocess.json,
            preprocessing.json) is missing or malformed; exports written before
            contrastkit put config.yaml and preprocess.json in them are re-exported.
        MissingExtraError: onnxruntime is not installed.
    """
    folder = Path(folder)
    for name in (CONFIG_FILE, PREPROCESS_FILE, STEPS_FILE):
        if not (folder / name).is_file():
            raise ContrastkitError(
                f"{folder / name} does not exist: an ONNX export that contrastkit.load reads "
                f"holds {ONNX_FILE}, {CONFIG_FILE}, {PREPROCESS_FILE} and {STEPS_FILE}; "
                "export the run again with `contrastkit export RUN_DIR --format onnx`"
            )
    try:
        input_name = json.loads((folder / STEPS_FILE).read_text())["input_name"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ContrastkitError(
            f"{folder / STEPS_FILE} does not name the model's input (input_name); export "
            "the run again"
        ) from exc
    cfg = read_run_config(folder)
    modality = get_modality(cfg.data.modality)
    cfg, data, _ = inference_data(folder, cfg, modality)
    cfg.train.precision = "fp32"  # the ONNX graph computes in float32
    model = OnnxEncoder(folder / ONNX_FILE, input_name, device).to(device)
    return Embedder(cfg, modality, data, model, str(folder.resolve()), data_free=True)
