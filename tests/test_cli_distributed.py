"""`contrastkit train --nproc 2` on real data: two gloo processes, one run folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.test_cli import _output, _run


def test_train_with_two_processes_on_digits(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "--dataset", "digits", "--steps", "4", "--batch-size", "64", "--nproc", "2",
            "--run-dir", str(run), "--set", "data.holdout=100", "--set", "data.monitor_bank=300",
            "--no-progress", "--no-evaluate"]  # fmt: skip
    result = _run(*args, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, _output(result)
    assert "trained 4 steps" in result.stdout
    assert (run / "encoder.safetensors").is_file() and (run / "config.yaml").is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 4
    with (run / "metrics.csv").open() as f:
        steps = [row["step"] for row in csv.DictReader(f) if row.get("loss")]
    assert steps and len(steps) == len(set(steps))  # rank 0 writes, once per step

    odd = _run("train", "--dataset", "digits", "--steps", "1", "--batch-size", "63", "--nproc",
               "2", "--no-progress", "--no-evaluate", cwd=tmp_path)  # fmt: skip
    assert odd.returncode == 2 and "divisible" in odd.stderr


@pytest.mark.distributed
@pytest.mark.parametrize(
    ("modality", "args"),
    [
        ("table", ["--dataset", "wine", "--method", "triplet"]),  # gathers its pairs
        (
            "image-text",
            [
                "--dataset",
                "emoji",
                "--set",
                "model.text_model=scratch",
                "--set",
                "model.widths=[8,16]",
            ],
        ),
    ],
    ids=["table-triplet", "image-text-clip"],
)
def test_two_processes_train_other_modalities(tmp_path: Path, modality: str, args) -> None:
    """`--nproc` is chosen once in the run path, so every modality gets it."""
    run = tmp_path / "run"
    result = _run("train", *args, "--steps", "3", "--batch-size", "32", "--nproc", "2",
                  "--run-dir", str(run), "--no-progress", "--no-evaluate", cwd=tmp_path,
                  timeout=300)  # fmt: skip
    assert result.returncode == 0, _output(result)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["modality"] == modality and summary["world_size"] == 2
    assert summary["steps"] == 3
