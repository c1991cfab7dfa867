"""Hugging Face datasets saved to disk: images read with the pixels and labels they were
written with, train/test splits, the same batches streamed or in memory for the same
seed, texts read as the text reader reads the same rows from a file, detection, errors,
and `contrastkit train --dataset <saved dataset>` for images and texts."""

from __future__ import annotations

import csv
import functools
import json
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.data.hf_source import ArrowImages, load_hf_texts, stream_hf_images
from contrastkit.data.registry import has_test_split, load_dataset
from contrastkit.data.text import load_texts
from contrastkit.errors import ContrastkitError, DataFormatError
from contrastkit.modalities.registry import detect_modality
from tests.data.helpers import assert_same_batches, fashion_subset, fit_streamed, hf_image_dataset

fashion = functools.cache(fashion_subset)  # 300 real images, all ten classes


def _image_dict(tmp: Path) -> Path:
    """Fashion-MNIST images as a DatasetDict: 240 train, 60 test."""
    images, labels = fashion()
    split = datasets.DatasetDict(
        train=hf_image_dataset(images[:240], labels[:240]),
        test=hf_image_dataset(images[240:], labels[240:]),
    )
    split.save_to_disk(str(tmp / "hf"))
    return tmp / "hf"


@functools.cache
def _wordnet_pairs() -> list[tuple[str, str, str]]:
    """300 real pairs: a WordNet synset's words -> its definition, lexicographer class."""
    from contrastkit.data.wordnet import load_wordnet

    synsets = [s for s in load_wordnet()[::50] if s.definition][:300]
    return [(", ".join(s.words), s.definition, f"lex{s.lexfile}") for s in synsets]


def _text_dataset(tmp: Path) -> Path:
    """300 WordNet pairs as sentence1 / sentence2 / ClassLabel label columns."""
    rows = _wordnet_pairs()
    names = sorted({r[2] for r in rows})
    features = datasets.Features(
        sentence1=datasets.Value("string"), sentence2=datasets.Value("string"),
        label=datasets.ClassLabel(names=names),
    )  # fmt: skip
    columns = {
        "sentence1": [r[0] for r in rows],
        "sentence2": [r[1] for r in rows],
        "label": [names.index(r[2]) for r in rows],
    }
    datasets.Dataset.from_dict(columns, features=features).save_to_disk(str(tmp / "texts"))
    return tmp / "texts"


def test_images_keep_their_pixels_labels_and_splits(tmp_path) -> None:
    images, labels = fashion()
    path = _image_dict(tmp_path)
    train = stream_hf_images(path)
    assert isinstance(train.images, ArrowImages) and train.images.shape == (240, 1, 28, 28)
    assert torch.equal(train.images[:], torch.from_numpy(images[:240])[:, None])
    assert torch.equal(train.labels, torch.from_numpy(labels[:240]).long())
    assert train.classes == [f"c{k}" for k in range(10)] and train.ids[5] == "train/5"
    assert has_test_split(str(path)) and not has_test_split(str(tmp_path))
    test = load_dataset(str(path), "test")  # decoded into memory
    assert isinstance(test.images, torch.Tensor) and test.ids[0] == "test/0"
    assert torch.equal(test.images, torch.from_numpy(images[240:])[:, None])
    part = train.subset(torch.tensor([7, 3]))  # a subset stays in the table
    assert isinstance(part.images, ArrowImages) and torch.equal(
        part.images[:], train.images[[7, 3]]
    )


def test_arrow_files_and_an_integer_label_column(tmp_path) -> None:
    images, labels = fashion()
    ds = hf_image_dataset(images[:50], labels[:50]).cast_column("label", datasets.Value("int64"))
    ds.save_to_disk(str(tmp_path / "saved"))
    arrow = next((tmp_path / "saved").glob("*.arrow"))
    data = stream_hf_images(arrow, image_size=14, channels=3)
    assert data.images.shape == (50, 3, 14, 14) and data.classes is None
    assert torch.equal(data.labels, torch.from_numpy(labels[:50]).long())
    (tmp_path / "arrows").mkdir()
    arrow.rename(tmp_path / "arrows" / arrow.name)  # a folder of .arrow files
    folder = stream_hf_images(tmp_path / "arrows")
    assert torch.equal(folder.images[:], torch.from_numpy(images[:50])[:, None])


@pytest.mark.parametrize("workers", [0, 2])
def test_streamed_and_in_memory_give_the_same_batches(tmp_path, workers: int) -> None:
    path = _image_dict(tmp_path)
    assert_same_batches(load_dataset(str(path)), stream_hf_images(path), workers)


def _fit(path: Path, run_dir: Path | None, stop: int | None = None, resume: bool = False):
    return fit_streamed(stream_hf_images(path), run_dir, 10, stop, resume)


def test_a_run_streamed_from_arrow_resumes_exactly_mid_epoch(tmp_path, one_thread) -> None:
    path = _image_dict(tmp_path)  # 240 train images, 7 batches of 32 an epoch
    straight = _fit(path, None)
    _fit(path, tmp_path / "run", stop=3)
    resumed = _fit(path, tmp_path / "run", resume=True)
    for a, b in zip(resumed, straight, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_texts_read_as_the_same_rows_from_a_file(tmp_path) -> None:
    path = _text_dataset(tmp_path)
    with open(tmp_path / "pairs.csv", "w", newline="") as f:
        csv.writer(f).writerows([("sentence1", "sentence2", "label"), *_wordnet_pairs()])
    hf, file = load_hf_texts(path), load_texts(tmp_path / "pairs.csv")
    assert hf.kind == "pairs" and len(hf) == 300
    assert (hf.anchor, hf.positive, hf.label) == (file.anchor, file.positive, file.label)


def test_detection_by_features(tmp_path) -> None:
    assert detect_modality(str(_image_dict(tmp_path))) == "image"
    assert detect_modality(str(_text_dataset(tmp_path))) == "text"


def test_errors_are_one_sentence(tmp_path, monkeypatch) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataFormatError, match="is not a Hugging Face dataset"):
        stream_hf_images(tmp_path / "plain")
    texts, images = _text_dataset(tmp_path), _image_dict(tmp_path)
    with pytest.raises(DataFormatError, match="has no image column"):
        stream_hf_images(texts)
    with pytest.raises(DataFormatError, match="has no 'validation' split; it has train, test"):
        stream_hf_images(images, "validation")
    with pytest.raises(DataFormatError, match="no text column"):
        load_hf_texts(images)
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if not installed
    with pytest.raises(ContrastkitError, match=r"pip install 'contrastkit\[hf\]'"):
        stream_hf_images(images)


@pytest.mark.parametrize("budget", ["4GB", "0"])
def test_train_on_a_saved_image_dataset(tmp_path, budget: str) -> None:
    run = tmp_path / "run"
    args = [
        "train", "--dataset", str(_image_dict(tmp_path)), "-o", str(run), "--steps", "4",
        "--batch-size", "32", "--set", "model.widths=[8,16]", "--set", "data.holdout=30",
        "--set", f"data.max_memory={budget}", "--set", "data.workers=1",
        "--set", "data.monitor_bank=100", "--set", "eval.linear=false",
        "--set", "eval.knn_k=10", "--no-progress", "--no-report",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    how = "decoded into memory" if budget == "4GB" else "streamed from disk"
    assert f"data.max_memory {budget}: {how}" in result.output
    assert "knn_top1" in result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["data"] == "hf: 210 train / 60 test images (1, 28, 28)"


def test_train_on_a_saved_text_dataset_and_embed_it(tmp_path) -> None:
    run, texts = tmp_path / "run", _text_dataset(tmp_path)
    args = [
        "train", "--dataset", str(texts), "-o", str(run), "--model",
        "scratch", "--steps", "4", "--batch-size", "16", "--precision", "fp32",
        "--set", "data.test_size=40", "--set", "model.dim=32", "--set", "model.layers=1",
        "--set", "eval.linear=false", "--no-progress", "--no-report",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    assert "recall@1" in result.output and (run / "model").is_dir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["modality"] == "text"
    assert summary["data"].endswith("texts: 260 pairs, 40 held out")
    out = tmp_path / "emb.npz"
    result = CliRunner().invoke(app, ["embed", str(run), "-o", str(out), "--dataset", str(texts)])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    assert np.load(out)["embeddings"].shape == (600, 32)  # anchors, then positives
