"""What a run folder holds is read from its own config.yaml, never guessed from its files;
a text run under torchrun trains once, its two processes sharing each global batch."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contrastkit.pipeline.embedder import load_embedder
from contrastkit.pipeline.launch import free_port
from tests.methods.test_text_methods import WORDS
from tests.modalities.helpers import train_and_evaluate


def test_the_modality_comes_from_config_yaml_not_from_the_files(tmp_path: Path) -> None:
    """The bug this guards: a folder holding config.json or settings.json (as audio, CLIP
    and table runs did) was taken for a text model."""
    run = tmp_path / "run"
    train_and_evaluate(run, data__dataset="wine", train__steps=3, train__batch_size=16)
    (run / "config.json").write_text("{}")  # what a transformers folder holds
    (run / "settings.json").write_text("{}")
    (run / "model").mkdir()
    (run / "model" / "config.json").write_text("{}")
    embedder = load_embedder(run)
    assert embedder.modality == "table"
    assert embedder.embed_source(None, "test").vectors.shape[1] == 256


def _pairs(path: Path, n: int = 96) -> Path:
    words = WORDS
    rows = ["anchor,positive"]
    for i in range(n):
        a = [words[(i * 7 + j * 3) % len(words)] for j in range(4)]
        rows.append(f"{' '.join(a)} {i},{' '.join(reversed(a))} {i}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.distributed
def test_a_text_run_under_torchrun_trains_once_across_both_processes(tmp_path: Path) -> None:
    """The bug this guards: text training under torchrun ran two independent trainings into
    one folder. Now both processes join one process group: rank 0 alone writes metrics.csv
    (one row per logged step) and the summary records a world size of 2."""
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    run = tmp_path / "run"
    cmd = [
        torchrun, "--nproc-per-node", "2", "--master-port", str(free_port()),
        "-m", "contrastkit.cli", "train", "--dataset", str(_pairs(tmp_path / "p.csv")),
        "--model", "scratch", "--set", "model.dim=32", "--set", "model.layers=1",
        "--steps", "6", "--batch-size", "16", "--set", "train.log_every=2",
        "--set", "data.test_size=16", "-o", str(run), "--no-progress", "--no-report",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 6
    with (run / "metrics.csv").open() as f:
        steps = [int(r["step"]) for r in csv.DictReader(f) if r.get("loss")]
    assert steps == [2, 4, 6]  # one writer, one training
    events = list((run / "tensorboard").glob("events.out.tfevents.*"))  # *.<pid>.<n>
    assert events and len({f.name.split(".")[-2] for f in events}) == 1  # rank 0's alone
    assert (run / "model" / "config.json").is_file()
