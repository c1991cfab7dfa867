"""The `contrastkit` command: listings in-process, user errors and a full digits run as real
subprocesses of the installed console script (status codes, messages, run-folder contents)."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.data.digits import load_digits
from contrastkit.methods import METHODS
from contrastkit.modalities.registry import MODALITIES

runner = CliRunner()


def _script() -> str:
    """The installed console script, preferring the one beside this interpreter."""
    beside = Path(sys.executable).with_name("contrastkit")
    found = str(beside) if beside.is_file() else shutil.which("contrastkit")
    assert found, "the contrastkit console script is not installed (pip install -e .)"
    return found


def _run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # One thread: the test machine is small and shared; oversubscribed threads are far slower.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run(
        [_script(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


# ---------------------------------------------------------------- listings (in-process)


def test_datasets_lists_every_modality_and_named_dataset() -> None:
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 0, result.output
    for modality in MODALITIES.values():
        assert f"{modality.name}: {modality.summary}" in result.output
        for name in modality.datasets:
            assert name in result.output
    assert "fashion-mnist" in result.output and "digits" in result.output


def test_methods_lists_every_method_with_its_summary() -> None:
    result = runner.invoke(app, ["methods"])
    assert result.exit_code == 0, result.output
    for name, cls in METHODS.items():
        assert name in result.output
        assert cls.summary and cls.summary in result.output
    assert len(result.output.strip().splitlines()) == len(METHODS)
    assert "clip " in result.output and "image-text" in result.output
    result = runner.invoke(app, ["methods", "--keys"])
    assert "method.queue_size = 4096" in result.output


def test_help_lists_the_verbs() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("train", "evaluate", "embed", "datasets", "methods", "finetune"):
        assert verb in result.output


# ---------------------------------------------------------------- user errors (subprocess)


def test_bad_config_value_exits_2_without_traceback_or_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    result = _run(
        "train",
        "--dataset",
        "digits",
        "--set",
        "optim.lr=-1",
        "--steps",
        "5",
        "--run-dir",
        str(run_dir),
        cwd=tmp_path,
    )
    out = _output(result)
    assert result.returncode == 2, out
    assert "optim.lr" in result.stderr
    assert "Traceback" not in out
    assert not run_dir.exists()
    assert list(tmp_path.iterdir()) == []  # no default runs/ folder either


def test_unknown_dataset_exits_2_listing_known_datasets(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    result = _run(
        "train",
        "--dataset",
        "no-such-data",
        "--steps",
        "5",
        "--run-dir",
        str(run_dir),
        cwd=tmp_path,
    )
    out = _output(result)
    assert result.returncode == 2, out
    assert "no-such-data" in result.stderr
    assert "fashion-mnist" in result.stderr and "digits" in result.stderr
    assert "Traceback" not in out
    assert not run_dir.exists()


def test_evaluate_a_folder_that_is_not_a_run_exits_2(tmp_path: Path) -> None:
    result = _run("evaluate", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2, _output(result)
    assert "not a contrastkit run folder" in result.stderr
    assert "Traceback" not in _output(result)


# ---------------------------------------------------------------- end to end (subprocess)


def _metrics(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


@pytest.mark.slow
def test_train_evaluate_embed_on_digits(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train = _run(
        "train",
        "--dataset",
        "digits",
        "--steps",
        "30",
        "--batch-size",
        "128",
        "--run-dir",
        str(run_dir),
        "--set",
        "data.holdout=200",
        "--set",
        "data.monitor_bank=1000",
        "--no-progress",
        "--no-evaluate",
        cwd=tmp_path,
    )
    assert train.returncode == 0, _output(train)
    assert "trained 30 steps" in train.stdout
    assert str(run_dir) in train.stdout

    # The run folder.
    assert (run_dir / "config.yaml").is_file()
    assert (run_dir / "encoder.safetensors").is_file()
    assert sorted((run_dir / "checkpoints").glob("step_*.pt"))
    fields, rows = _metrics(run_dir / "metrics.csv")
    assert "loss" in fields
    losses = [float(r["loss"]) for r in rows if r["loss"]]
    assert losses and all(math.isfinite(v) for v in losses)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 30 and summary["skipped_files"] == []

    # evaluate: the trained encoder beside both baselines, as a table and as records.
    evaluate = _run("evaluate", str(run_dir), cwd=tmp_path)
    assert evaluate.returncode == 0, _output(evaluate)
    for system in ("contrastkit simclr", "raw pixels", "random-init encoder"):
        assert system in evaluate.stdout
    records = json.loads((run_dir / "eval.json").read_text())["rows"]
    assert records and all({"system", "metric", "value"} <= set(r) for r in records)
    assert {r["system"] for r in records} == {
        "contrastkit simclr",
        "raw pixels",
        "random-init encoder",
    }
    assert all(0 <= r["value"] <= 1 for r in records if r["metric"].endswith("top1"))

    # embed: one row per training item, with ids and labels.
    npz = tmp_path / "emb.npz"
    embed = _run("embed", str(run_dir), "-o", str(npz), cwd=tmp_path)
    assert embed.returncode == 0, _output(embed)
    with np.load(npz) as data:
        embeddings, ids, labels = data["embeddings"], data["ids"], data["labels"]
    digits = load_digits("train")
    n = len(digits)
    assert embeddings.dtype == np.float32 and embeddings.ndim == 2
    assert embeddings.shape[0] == n and embeddings.shape[1] > 0
    assert np.isfinite(embeddings).all()
    assert len(ids) == n and len(set(ids.tolist())) == n
    assert ids.tolist() == digits.ids
    assert labels.shape == (n,) and labels.tolist() == digits.labels.tolist()
    assert f"wrote {n} embeddings" in embed.stdout


def _write_class_folder(root: Path, per_class: int = 20) -> None:
    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:02d}.png")
    (root / "cats" / "corrupt.png").write_bytes(rng.integers(0, 256, 300, np.uint8).tobytes())


@pytest.mark.slow
def test_train_on_image_folder_skips_and_reports_corrupt_file(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    _write_class_folder(folder)
    run_dir = tmp_path / "f"
    result = _run(
        "train",
        "--dataset",
        str(folder),
        "--steps",
        "2",
        "--batch-size",
        "8",
        "--run-dir",
        str(run_dir),
        "--no-progress",
        "--no-evaluate",
        "--set",
        "data.holdout=4",
        "--set",
        "data.monitor_bank=8",
        cwd=tmp_path,
    )
    assert result.returncode == 0, _output(result)
    assert "corrupt.png" in result.stderr  # the loader's warning
    assert "Traceback" not in _output(result)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 2
    skipped = summary["skipped_files"]
    assert [name for name, _ in skipped] == ["cats/corrupt.png"]
    assert skipped[0][1]  # with the reason
    assert (run_dir / "encoder.safetensors").is_file()
