"""`contrastkit.load(ONNX_EXPORT)`: an Encoder whose `encode` runs ONNX Runtime on the
run's own preprocessing, within 1e-4 of PyTorch on real inputs given the way a user has
them, without the training data; onnxruntime missing or a file of the export missing is
one sentence."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import contrastkit
from contrastkit.errors import ContrastkitError, MissingExtraError
from contrastkit.export import export
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.onnx_model import OnnxEncoder
from contrastkit.pipeline.preprocess import PREPROCESS_FILE


def _inputs(kind: str, data: str):
    if kind == "table":
        return pd.read_csv(data).head(30)
    if kind == "audio":
        clips = Path(data).rglob("*")
        return sorted(p for p in clips if p.suffix in (".wav", ".flac") and p.stem != "broken")
    from contrastkit.data.registry import load_dataset

    return load_dataset("fashion-mnist", "test").images[:37]  # (37, 1, 28, 28) uint8


def _pytorch(encoder: contrastkit.Encoder, x) -> np.ndarray:
    """The run's encoder in float32 on the same preprocessed inputs."""
    e = encoder._embedder
    m = e.modality_adapter
    items = m.as_items(e.cfg, e.data, x, None).items
    prepare = m.embed_input(e.cfg, e.data)
    with torch.no_grad():
        return e.model.float().eval()(prepare(items) if prepare else items.float()).numpy()


@pytest.mark.parametrize("kind", ["fashion-mnist", "audio", "table"])
def test_onnx_exports_encode_like_pytorch_without_the_data(
    tiny_runs, tmp_path, monkeypatch, kind
) -> None:
    run, data = tiny_runs(kind)
    out = export(run, "onnx", tmp_path / "onnx")
    x = _inputs(kind, data)
    original = contrastkit.load(run, "cpu")
    ref = _pytorch(original, x)

    def refuse(*args, **kwargs):
        raise AssertionError("the training data was read")

    modality = get_modality(original.modality)
    monkeypatch.setattr(type(modality), "prepare", refuse)
    onnx = contrastkit.load(out, "cpu")
    assert isinstance(onnx.model, OnnxEncoder) and onnx.modality == original.modality
    z = onnx.encode(x, batch_size=7)  # batches other than the exported example's
    assert z.dtype == np.float32 and z.shape == ref.shape
    np.testing.assert_allclose(z, ref, atol=1e-4)
    if original.config.train.precision == "fp32":  # else PyTorch embeds in bf16
        np.testing.assert_allclose(z, original.encode(x), atol=1e-4)
    assert onnx.fingerprint != original.fingerprint  # the file's digest, not the weights'


def test_onnx_load_needs_onnxruntime_and_its_files(tiny_runs, tmp_path, monkeypatch) -> None:
    run, _ = tiny_runs("table")
    out = export(run, "onnx", tmp_path / "onnx")
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "onnxruntime", None)
        with pytest.raises(MissingExtraError, match=r"pip install 'contrastkit\[export\]'"):
            contrastkit.load(out, "cpu")
    (out / PREPROCESS_FILE).unlink()  # as in an export from before it was written there
    gone = re.escape(str(out / PREPROCESS_FILE))
    with pytest.raises(ContrastkitError, match=f"{gone} does not exist") as e:
        contrastkit.load(out, "cpu")
    assert "--format onnx" in str(e.value)
