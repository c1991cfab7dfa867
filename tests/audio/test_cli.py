from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from contrastkit.cli_audio import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so typer keeps command names
        """Placeholder."""

    return app


def test_train_audio_on_a_labelled_folder(labelled_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        _app(),
        [
            "train-audio",
            str(labelled_folder),
            "-o",
            str(out),
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--clip-seconds",
            "0.25",
            "--test-fraction",
            "0.34",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1 file(s) that are not readable audio" in result.output
    assert "broken.wav" in result.output
    assert "random-init encoder" in result.output and "simclr encoder" in result.output
    assert (out / "encoder.safetensors").is_file() and (out / "settings.json").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["class_names"] == ["high", "low"]
    assert set(summary["evaluation"]) == {
        "raw log-mel statistics",
        "random-init encoder",
        "simclr encoder",
    }
    assert 0.0 <= summary["evaluation"]["simclr encoder"]["knn"] <= 1.0


def test_train_audio_flat_folder_with_byol(tmp_path: Path) -> None:
    from tests.audio.conftest import write_tone

    for i in range(6):
        write_tone(tmp_path / "flat" / f"t{i}.wav", 200 + 150 * i)
    result = CliRunner().invoke(
        _app(),
        [
            "train-audio",
            str(tmp_path / "flat"),
            "-o",
            str(tmp_path / "run"),
            "--method",
            "byol",
            "--steps",
            "2",
            "--batch-size",
            "3",
            "--clip-seconds",
            "0.25",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no labels: trained without evaluation" in result.output


def test_train_audio_rejects_unknown_method(labelled_folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        [
            "train-audio",
            str(labelled_folder),
            "-o",
            str(tmp_path / "r"),
            "--method",
            "nope",
            "--no-progress",
        ],
    )
    assert result.exit_code != 0
    assert "unknown 'nope'" in str(result.exception)
