"""The ONNX export of an image, audio or table encoder: model.onnx takes the preprocessed
float tensor (preprocessing.json says how to make it) with a dynamic batch axis."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import torch

from contrastkit.errors import ContrastkitError
from contrastkit.export.tensor_model import TensorModel, tensor_model
from contrastkit.files import write_json
from contrastkit.pipeline.preprocess import PREPROCESS_FILE
from contrastkit.pipeline.settings import CONFIG_FILE

__all__ = ["export_onnx", "write_preprocessing"]


def write_preprocessing(model: TensorModel, out: Path, output_dim: int, run_dir: Path) -> None:
    """preprocessing.json: the input's name and shape and how raw items become it (and a
    table run's schema.json, which it refers to)."""
    out.mkdir(parents=True, exist_ok=True)
    if (run_dir / "schema.json").is_file():
        shutil.copy2(run_dir / "schema.json", out / "schema.json")
    info = {"input_name": model.input_name, "output_dim": output_dim, **model.preprocessing}
    (out / "preprocessing.json").write_text(json.dumps(info, indent=2) + "\n")


def export_onnx(run_dir: Path, out: Path) -> None:
    """Write out/model.onnx (input `pixels`/`waveform`/`features`, output `embedding`),
    and config.yaml and preprocess.json, with which `contrastkit.load(out)` reads inputs
    as the run does and runs the model on ONNX Runtime."""
    try:
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as exc:
        raise ContrastkitError("ONNX export needs onnx: pip install 'contrastkit[export]'") from exc
    model = tensor_model(run_dir)
    with torch.no_grad():
        dim = int(model.module(model.example).shape[1])
    write_preprocessing(model, out, dim, run_dir)
    shutil.copy2(run_dir / CONFIG_FILE, out / CONFIG_FILE)
    write_json(out / PREPROCESS_FILE, model.record)
    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.module, (model.example,), out / "model.onnx", input_names=[model.input_name],
            output_names=["embedding"], dynamic_shapes=({0: batch},), dynamo=True,
            verbose=False, external_data=False,
        )  # fmt: skip
