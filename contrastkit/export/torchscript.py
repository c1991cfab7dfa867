"""The TorchScript export of an image, audio or table encoder: model.pt, traced on the
run's own (preprocessed) items; preprocessing.json says how to make its input."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from contrastkit.export.onnx import write_preprocessing
from contrastkit.export.tensor_model import tensor_model

__all__ = ["export_torchscript"]


def export_torchscript(run_dir: Path, out: Path) -> None:
    """Write out/model.pt, which `torch.jit.load` reads without contrastkit."""
    model = tensor_model(run_dir)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model.module, model.example, check_trace=False)
        dim = int(traced(model.example).shape[1])
    write_preprocessing(model, out, dim, run_dir)
    traced.save(str(out / "model.pt"))
