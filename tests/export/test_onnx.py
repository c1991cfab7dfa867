"""ONNX export: ONNX Runtime gives PyTorch's embeddings (within 1e-4) on real inputs, at a
batch size other than the one exported, for image, audio and table encoders."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from contrastkit.export import export
from contrastkit.export.tensor_model import tensor_model


def test_fashion_mnist_images_through_onnx_runtime(tiny_runs, tmp_path) -> None:
    from contrastkit.data.registry import load_dataset
    from contrastkit.modalities.image_config import build_image_views
    from contrastkit.pipeline.settings import read_run_config

    run, _ = tiny_runs("fashion-mnist")
    out = export(run, "onnx", tmp_path / "onnx")
    info = json.loads((out / "preprocessing.json").read_text())
    assert info["input_name"] == "pixels" and info["size"] == 28 and info["channels"] == 1
    cfg = read_run_config(run)
    assert info["mean"] == cfg.views.mean and info["std"] == cfg.views.std
    # 37 real test images, read by the library's reader, preprocessed as the card says
    images = load_dataset("fashion-mnist", "test").images[:37]
    x = build_image_views(cfg.views).preprocess(images)
    session = ort.InferenceSession(str(out / "model.onnx"))
    got = session.run(None, {"pixels": x.numpy()})[0]
    encoder = tensor_model(run).module
    with torch.no_grad():
        ref = encoder(x).numpy()
    assert got.shape == ref.shape == (37, info["output_dim"])
    np.testing.assert_allclose(got, ref, atol=1e-4)
    card = (out / "README.md").read_text()
    assert "onnxruntime" in card and "model.onnx" in card


@pytest.mark.parametrize("kind", ["audio", "table"])
def test_audio_and_table_encoders_through_onnx_runtime(tiny_runs, tmp_path, kind) -> None:
    run, _ = tiny_runs(kind)
    out = export(run, "onnx", tmp_path / "onnx")
    model = tensor_model(run, examples=64)
    x = model.example[:5]  # the run's own test items, preprocessed
    got = ort.InferenceSession(str(out / "model.onnx")).run(None, {model.input_name: x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got[0], model.module(x).numpy(), atol=1e-4)
    if kind == "table":
        assert (out / "schema.json").is_file()
