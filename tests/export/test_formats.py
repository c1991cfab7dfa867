"""`contrastkit export`: the safetensors export loads with `contrastkit.load` and gives the
run's embeddings; the sentence-transformers export loads without warnings; a bad format or
a format the model has not is one sentence with exit status 2."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

import contrastkit
from contrastkit.cli import main


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["contrastkit", "export", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    out = capsys.readouterr()
    return stop.value.code, out.out, out.err


@pytest.mark.parametrize("kind", ["table", "image-text"])
def test_the_safetensors_export_loads_like_the_run(tiny_runs, tmp_path, monkeypatch, capsys, kind):
    run, _ = tiny_runs(kind)
    out = tmp_path / "export"
    code, text, _ = _cli(monkeypatch, capsys, str(run), "--format", "safetensors", "-o", str(out))
    assert code in (0, None) and "written:" in text
    assert (out / "encoder.safetensors").is_file() and not (out / "checkpoints").exists()
    exported, original = contrastkit.load(out, "cpu"), contrastkit.load(run, "cpu")
    items = original._embedder.item_set(None, "test").items[:20]
    np.testing.assert_allclose(exported.encode(items), original.encode(items), atol=1e-6)
    assert exported.fingerprint == original.fingerprint


def test_sentence_transformers_loads_without_warnings(tiny_runs, tmp_path, capfd, caplog):
    """At transformers' default verbosity (contrastkit silences it when it loads a text
    model, so this process must restore it): no load report of missing pooler weights."""
    import transformers
    from sentence_transformers import SentenceTransformer

    run, _ = tiny_runs("text")
    out = contrastkit.export.export(run, "sentence-transformers", tmp_path / "st")
    capfd.readouterr()
    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_warning()
    try:
        with caplog.at_level(logging.INFO):
            model = SentenceTransformer(str(out), device="cpu")
    finally:
        transformers.logging.set_verbosity(level)
    said = capfd.readouterr()
    text = (said.out + said.err + caplog.text).lower()
    for notice in ("missing", "newly initialized", "not initialized", "pooler"):
        assert notice not in text, text
    texts = ["red cat jump", "old tree swim fast"]
    ours = contrastkit.load(run, "cpu").encode(texts)
    np.testing.assert_allclose(model.encode(texts), ours, atol=1e-5)


def test_bad_and_unavailable_formats_are_one_sentence(tiny_runs, monkeypatch, capsys) -> None:
    run, _ = tiny_runs("text")
    code, _, err = _cli(monkeypatch, capsys, str(run), "--format", "tflite")
    assert code == 2 and err.startswith("error: unknown export format 'tflite'")
    assert err.count("\n") == 1 and "Traceback" not in err
    code, _, err = _cli(monkeypatch, capsys, str(run), "--format", "onnx")
    assert code == 2 and "a text model does not take one tensor" in err and err.count("\n") == 1
    image, _ = tiny_runs("image")
    code, _, err = _cli(monkeypatch, capsys, str(image), "--format", "sentence-transformers")
    assert code == 2 and "holds text models, and this is a image run" in err
