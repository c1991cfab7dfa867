"""`contrastkit finetune`: a short digits run transferred to labelled image sets (its own
test split, a colour folder of another size with a held-out share) and to audio clips;
user mistakes exit with status 2 and one sentence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.data.digits import load_digits
from contrastkit.pipeline.finetune_run import finetune
from contrastkit.pipeline.runs import write_config
from contrastkit.pipeline.settings import load_config, validate_config
from contrastkit.pipeline.train_run import train
from tests.audio.conftest import write_labelled_folder
from tests.test_cli import _output, _run

SYSTEMS = [
    "contrastkit simclr: linear probe",
    "contrastkit simclr: fine-tune",
    "random init: linear probe",
    "random init: fine-tune",
    "raw pixels: linear probe",
]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SimCLR on digits for 40 steps with a small CNN (a few seconds)."""
    run = tmp_path_factory.mktemp("finetune") / "run"
    settings = {"data.dataset": "digits", "train.steps": 40, "train.batch_size": 64,
                "data.holdout": 200, "data.monitor_bank": 1000, "model.widths": [16, 32],
                "train.run_dir": str(run)}  # fmt: skip
    torch.manual_seed(0)
    train(load_config(None, settings), progress=False)
    return run


def _expected_labels(labels: np.ndarray, share: float) -> int:
    """Labels a share gives after 20% of each class is carved off for validation."""
    counts = np.bincount(labels)
    pool = [max(1, round(0.8 * n)) for n in counts]
    return sum(max(1, round(share * n)) for n in pool)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_finetune_on_digits_scores_every_share_and_system(digits_run: Path) -> None:
    weights = _digest(digits_run / "encoder.safetensors")
    result = _run("finetune", str(digits_run), "--dataset", "digits", "--labels", "0.01,0.1,1",
                  "--steps", "20", "--lr", "3e-3", "--seeds", "2", cwd=digits_run)  # fmt: skip
    assert result.returncode == 0, _output(result)
    for text in [*SYSTEMS, "accuracy@0.01 labels", "accuracy@0.1 labels", "accuracy@1 labels",
                 "no row for pre-trained weights without contrastive training"]:  # fmt: skip
        assert text in result.stdout
    path = digits_run / "finetune-digits.json"
    assert f"written: {path}" in result.stdout
    saved = json.loads(path.read_text())
    rows = {(r["system"], r["metric"]): r for r in saved["rows"]}
    shares = {"0.01": 0.01, "0.1": 0.1, "1": 1.0}
    assert set(rows) == {(s, f"accuracy@{p} labels") for s in SYSTEMS for p in shares}
    train_labels = load_digits("train").labels.numpy()
    for (_, metric), row in rows.items():
        assert 0.0 <= row["value"] <= 1.0 and len(row["values"]) == 2 and row["std"] >= 0
        assert row["value"] == pytest.approx(sum(row["values"]) / 2)
        share = shares[metric.split("@")[1].split()[0]]
        assert row["labels"] == _expected_labels(train_labels, share)
    assert rows[(SYSTEMS[0], "accuracy@0.01 labels")]["labels"] == 10  # one per class
    assert rows[(SYSTEMS[0], "accuracy@1 labels")]["labels"] == 1437 - 287  # all but val
    settings = saved["settings"]
    assert (
        "287 validation" in settings["data"]
        and "360 test (its own test split)" in (settings["data"])
    )
    assert settings["seeds"] == [0, 1] and settings["fine_tune"]["lrs"] == [3e-3]
    assert (digits_run / "finetune-digits.txt").is_file()
    assert _digest(digits_run / "encoder.safetensors") == weights  # the run is not changed
    # Learning: frozen features of the trained run on all labels; chance is 0.1.
    assert rows[(SYSTEMS[0], "accuracy@1 labels")]["value"] > 0.6


def _colour_folder(root: Path, per_class: int = 10) -> Path:
    """root/<digit>/*.png: digits 0-2 as 16x16 RGB images (another size, colour)."""
    digits = load_digits("all")
    for label in range(3):
        images = digits.images[digits.labels == label][:per_class, 0].numpy()
        for i, image in enumerate(images):
            rgb = np.stack([image, image // 2, 255 - image], axis=-1).astype(np.uint8)
            (root / str(label)).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb).resize((16, 16)).save(root / str(label) / f"{i}.png")
    return root


@pytest.mark.slow
def test_a_colour_folder_is_read_at_the_runs_size_with_a_held_out_test_share(
    digits_run: Path, tmp_path: Path
) -> None:
    folder = _colour_folder(tmp_path / "three-digits")
    result = finetune(digits_run, str(folder), shares=(0.5, 1.0), steps=5, lrs=(1e-3,))
    assert result.path == digits_run / "finetune-three-digits.json"
    data = json.loads(result.path.read_text())["settings"]["data"]
    assert "items 1x8x8" in data  # grey 8x8, as the digits run reads its images
    # 10 per class: 2 held out for test, then 2 of the other 8 for validation.
    assert "6 test (20% of each class held out" in data and "6 validation" in data
    labels = {r["metric"]: r["labels"] for r in result.rows}
    assert labels == {"accuracy@0.5 labels": 9, "accuracy@1 labels": 18}
    assert all(0.0 <= r["value"] <= 1.0 for r in result.rows)


@pytest.mark.slow
def test_an_audio_run_fine_tunes_on_a_labelled_clip_folder(tmp_path: Path) -> None:
    clips = write_labelled_folder(tmp_path / "clips")
    run = tmp_path / "audio-run"
    settings = {"data.dataset": str(clips), "train.steps": 2, "train.batch_size": 4,
                "data.clip_seconds": 0.25, "data.test_size": 0.34,
                "model.widths": [8, 8, 8, 8], "train.run_dir": str(run)}  # fmt: skip
    train(load_config(None, settings), progress=False)
    result = finetune(run, str(clips), shares=(1.0,), steps=3, lrs=(1e-3,))
    raw = "raw log-mel statistics: linear probe"
    assert {r["system"] for r in result.rows} == {*SYSTEMS[:4], raw}
    assert all(r["labels"] == 8 for r in result.rows)  # 6 per class: 1 test, 1 validation
    assert all(0.0 <= r["value"] <= 1.0 for r in result.rows)


def _config_only(root: Path, dataset: str) -> Path:
    """A run folder holding only config.yaml: these mistakes are refused before any weights
    or data are read."""
    run = root / f"{dataset}-run"
    run.mkdir()
    write_config(run, validate_config({"data": {"dataset": dataset}, "train": {"steps": 1}}))
    return run


def _flat_folder(root: Path) -> Path:
    for i, image in enumerate(load_digits("test").images[:6, 0].numpy()):
        (root / "flat").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / "flat" / f"{i}.png")
    return root / "flat"


def _refused(run: Path, dataset: str, labels: str, cwd: Path, message: str) -> None:
    result = _run("finetune", str(run), "--dataset", dataset, "--labels", labels, cwd=cwd)
    assert result.returncode == 2, _output(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in _output(result)


@pytest.mark.parametrize(
    ("run_data", "dataset", "labels", "message"),
    [
        ("wine", "wine", "0.1", "takes image and audio runs; "),
        ("digits", "wine", "0.1", "wine is table data; this image run fine-tunes on image"),
        ("digits", "digits", "0.1,1.5", "--labels takes shares in (0, 1]"),
    ],
    ids=["table run", "another modality's dataset", "share above 1"],
)
def test_user_mistakes_exit_2_with_one_sentence(
    tmp_path: Path, run_data: str, dataset: str, labels: str, message: str
) -> None:
    _refused(_config_only(tmp_path, run_data), dataset, labels, tmp_path, message)


@pytest.mark.slow
def test_an_unlabelled_folder_exits_2_with_one_sentence(digits_run: Path, tmp_path: Path) -> None:
    message = "has no labels: fine-tuning needs a labelled set"
    _refused(digits_run, str(_flat_folder(tmp_path)), "0.1", tmp_path, message)


@pytest.mark.slow
def test_a_run_from_pretrained_weights_gets_a_pretrained_start_row(tmp_path: Path) -> None:
    """With `model.weights`, the weights without the contrastive training are a system and
    "random init" is the backbone without them."""
    from contrastkit.encoders.vision import CompactCNN
    from contrastkit.train.checkpoint import save_weights

    torch.manual_seed(5)
    start = tmp_path / "start.safetensors"
    save_weights(CompactCNN(1, widths=(16, 32)), start)
    run = tmp_path / "run"
    settings = {"data.dataset": "digits", "train.steps": 10, "train.batch_size": 64,
                "data.holdout": 200, "data.monitor_bank": 500, "model.widths": [16, 32],
                "model.weights": str(start), "train.run_dir": str(run)}  # fmt: skip
    torch.manual_seed(0)
    train(load_config(None, settings), progress=False)
    result = finetune(run, "digits", shares=[0.1], seeds=1, steps=5, lrs=[1e-3])
    systems = {r["system"] for r in result.rows}
    assert "pretrained start: linear probe" in systems and "pretrained start: fine-tune" in systems
    assert any(str(start) in note for note in result.notes)
