"""TorchScript export: the traced model.pt gives the encoder's embeddings on real images,
at a batch size other than the traced one."""

from __future__ import annotations

import warnings

import torch

from contrastkit.export import export
from contrastkit.export.tensor_model import tensor_model


def test_traced_model_equals_the_encoder(tiny_runs, tmp_path) -> None:
    run, _ = tiny_runs("image")
    out = export(run, "torchscript", tmp_path / "ts")
    model = tensor_model(run, examples=21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
        traced = torch.jit.load(str(out / "model.pt"))
    with torch.no_grad():
        got, ref = traced(model.example), model.module(model.example)
    assert got.shape == (21, ref.shape[1])
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)
    assert (out / "preprocessing.json").is_file() and (out / "README.md").is_file()
