"""The audio adapter on folders of clips: class subfolders give labels and a per-class test
split, unreadable files are skipped and named, a flat folder trains without labels."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from contrastkit.cli import app
from tests.audio.conftest import write_labelled_folder, write_tone

runner = CliRunner()


def test_train_on_a_labelled_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "--dataset", str(write_labelled_folder(tmp_path / "clips")), "--steps", "3",
            "--batch-size", "4", "--set", "data.clip_seconds=0.25", "--set", "data.test_size=0.34",
            "-o", str(run), "--no-progress", "--no-report"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "raw log-mel statistics" in result.output and "random-init encoder" in result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["modality"] == "audio" and summary["steps"] == 3
    assert [Path(p).name for p, _ in summary["skipped_files"]] == ["broken.wav"]
    rows = json.loads((run / "eval.json").read_text())["rows"]
    knn = [r["value"] for r in rows if r["metric"] == "knn_top1"]
    assert len(knn) == 3 and all(0.0 <= v <= 1.0 for v in knn)


def test_train_on_a_flat_folder_with_byol_has_nothing_to_evaluate(tmp_path: Path) -> None:
    for i in range(6):
        write_tone(tmp_path / "flat" / f"t{i}.wav", 200 + 150 * i)
    args = ["train", "--dataset", str(tmp_path / "flat"), "--method", "byol", "--steps", "2",
            "--batch-size", "3", "--set", "data.clip_seconds=0.25", "-o", str(tmp_path / "run"),
            "--no-progress", "--no-report"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "no evaluation" in result.output and "no labels" in result.output
    assert (tmp_path / "run" / "encoder.safetensors").is_file()


def test_a_supervised_method_on_a_flat_folder_is_refused(tmp_path: Path) -> None:
    for i in range(4):
        write_tone(tmp_path / "flat" / f"t{i}.wav", 200 + 150 * i)
    args = ["train", "--dataset", str(tmp_path / "flat"), "--method", "supcon", "--steps", "2",
            "-o", str(tmp_path / "run")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code != 0 and "uses labels" in str(result.exception)
    assert not (tmp_path / "run").exists()
