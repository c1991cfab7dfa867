"""A run folder loads without its training data (preprocess.json): a copy of the run,
the data renamed away and the modality's reader made to fail, embeds inputs exactly as the
run did; an older run without the file reads its data once, with a notice, and writes it;
a missing or malformed file is one sentence naming it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import contrastkit
from contrastkit.errors import ContrastkitError
from contrastkit.export import export
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.embedder import load_embedder
from contrastkit.pipeline.preprocess import PREPROCESS_FILE
from tests.helpers.tiny_runs import tiny_run

TOL = 1e-5
MODALITY = {"image-folder": "image", "audio": "audio", "table": "table", "text": "text"}


def _reference(kind: str, run: Path, data: str):
    """(inputs as a user has them in memory, the vectors `contrastkit embed` writes for
    them), read while the training data is still there."""
    e = load_embedder(run, "cpu")  # the run path of `contrastkit embed`: the data read
    if kind == "table":
        return pd.read_csv(data), e.embed_source(data).vectors
    if kind == "text":
        items = e.embed_source(data)
        return list(items.texts), items.vectors
    items = e.item_set(None, "test")  # images (N, 1, 8, 8) uint8, clips (N, T) float
    return items.items, e.embed_items(items).vectors


def _refuse(*args, **kwargs):
    raise AssertionError("the training data was read")


def _no_reading(monkeypatch, kind: str) -> None:
    """Make the modality's data reader fail: loading must not call it."""
    monkeypatch.setattr(type(get_modality(MODALITY[kind])), "prepare", _refuse)


@pytest.mark.parametrize("kind", ["image-folder", "audio", "table", "text"])
def test_a_copied_run_loads_without_its_training_data(
    kind, tmp_path, monkeypatch, capsys, one_thread
) -> None:
    run, data = tiny_run(kind, tmp_path / "train")
    record = json.loads((run / PREPROCESS_FILE).read_text())
    assert record["modality"] == MODALITY[kind] and record["version"] == 1
    x, ref = _reference(kind, run, data)
    original = contrastkit.load(run, "cpu")
    z_original = original.encode(x, batch_size=32)
    copy = Path(shutil.copytree(run, tmp_path / "elsewhere" / "run"))
    Path(data).rename(Path(data).with_name("gone"))  # the data is not there any more
    _no_reading(monkeypatch, kind)
    capsys.readouterr()
    moved = contrastkit.load(copy, "cpu")
    z = moved.encode(x, batch_size=32)
    assert z.shape == ref.shape and "preprocess.json" not in capsys.readouterr().err
    np.testing.assert_allclose(z, ref, atol=TOL)
    np.testing.assert_allclose(z, z_original, atol=TOL)
    assert moved.fingerprint == original.fingerprint


def test_an_image_text_model_loads_both_towers_without_its_data(
    tiny_runs, tmp_path, monkeypatch
) -> None:
    run, _ = tiny_runs("image-text")  # a text tower fitted on the captions: text_init/
    e = load_embedder(run, "cpu")
    items = e.item_set(None, "test").part(0, 30)
    images, captions = items.items, list(items.texts)
    ref_images = e.embed_items(items).vectors
    ref_texts = e.embed_items(e.modality_adapter.as_items(e.cfg, e.data, captions, "text"))
    copy = Path(shutil.copytree(run, tmp_path / "run"))
    monkeypatch.setattr(type(e.modality_adapter), "prepare", _refuse)
    moved = contrastkit.load(copy, "cpu")
    np.testing.assert_allclose(moved.encode_image(images), ref_images, atol=TOL)
    np.testing.assert_allclose(moved.encode_text(captions), ref_texts.vectors, atol=TOL)


def test_the_safetensors_export_carries_preprocess_json(tiny_runs, tmp_path) -> None:
    run, _ = tiny_runs("table")
    out = export(run, "safetensors", tmp_path / "st")
    assert json.loads((out / PREPROCESS_FILE).read_text()) == json.loads(
        (run / PREPROCESS_FILE).read_text()
    )
    assert (out / "schema.json").is_file()


def test_an_older_run_reads_its_data_once_with_a_notice(tmp_path, capsys, one_thread) -> None:
    run, data = tiny_run("table", tmp_path / "train")
    frame = pd.read_csv(data)
    ref = contrastkit.load(run, "cpu").encode(frame)
    (run / PREPROCESS_FILE).unlink()  # as a run of an older contrastkit
    capsys.readouterr()
    np.testing.assert_allclose(contrastkit.load(run, "cpu").encode(frame), ref, atol=TOL)
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1 and f"no {PREPROCESS_FILE}" in notice[0], notice
    assert (run / PREPROCESS_FILE).is_file()  # written for next time
    contrastkit.load(run, "cpu")
    assert PREPROCESS_FILE not in capsys.readouterr().err
    # without the file and without the data: one sentence naming the file
    (run / PREPROCESS_FILE).unlink()
    Path(data).rename(Path(data).with_name("gone.csv"))
    with pytest.raises(ContrastkitError, match=rf"{PREPROCESS_FILE} does not exist.*failed"):
        contrastkit.load(run, "cpu")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{not json", "is not valid JSON"),
        ('{"a": 1}', "is not a contrastkit preprocess record"),
        (None, "has version 99, and this contrastkit reads version 1"),
        ("drop:mean", "lacks the key 'mean'"),
        ("modality", "is for a model of modality 'audio', and config.yaml says 'image'"),
    ],
)
def test_a_malformed_preprocess_json_is_one_sentence_naming_it(
    tiny_runs, tmp_path, monkeypatch, content, said
) -> None:
    run, _ = tiny_runs("image")
    copy = Path(shutil.copytree(run, tmp_path / "run"))
    path = copy / PREPROCESS_FILE
    record = json.loads(path.read_text())
    if content is None:
        content = json.dumps(record | {"version": 99})
    elif content == "modality":
        content = json.dumps(record | {"modality": "audio"})
    elif content.startswith("drop:"):
        content = json.dumps({k: v for k, v in record.items() if k != content[5:]})
    path.write_text(content)
    _no_reading(monkeypatch, "image-folder")
    with pytest.raises(ContrastkitError, match=said) as found:
        contrastkit.load(copy, "cpu")
    assert str(path) in str(found.value) and "\n" not in str(found.value)


@pytest.mark.parametrize(("kind", "missing"), [("table", "schema.json"), ("text", "model")])
def test_a_file_preprocess_json_names_must_travel_with_it(
    tiny_runs, tmp_path, monkeypatch, kind, missing
) -> None:
    run, _ = tiny_runs(kind)
    copy = Path(shutil.copytree(run, tmp_path / "run"))
    gone = copy / missing
    shutil.rmtree(gone) if gone.is_dir() else gone.unlink()
    _no_reading(monkeypatch, kind)
    with pytest.raises(ContrastkitError, match=f"{re.escape(str(gone))}.* does not exist"):
        contrastkit.load(copy, "cpu")
