"""Experiment tracking: TensorBoard events read back with TensorBoard's own reader equal
metrics.csv, the projector holds the test embeddings, a resumed run has no duplicate steps,
MLflow and W&B (offline) runs hold the same metrics, and a wrong logger is one sentence."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from contrastkit.data import load_digits
from contrastkit.encoders import CompactCNN
from contrastkit.errors import ConfigError
from contrastkit.methods import SimCLR
from contrastkit.pipeline.settings import load_config
from contrastkit.train import loggers
from contrastkit.train.checkpoint import list_checkpoints
from contrastkit.train.trainer import Trainer
from contrastkit.views import ImageViews
from tests.modalities.helpers import train_and_evaluate

ROOT = Path(__file__).resolve().parents[2]
TINY = {  # digits, a small CNN: a few seconds of training with the kNN monitor on
    "data__dataset": "digits",
    "train__steps": 12,
    "train__batch_size": 128,
    "train__log_every": 2,
    "train__checkpoint_every": 100,
    "data__monitor_bank": 500,
    "model__proj_hidden_dim": 32,
    "model__proj_dim": 16,
    "eval__linear": False,
}


def _csv_series(path: Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.csv as {column: [(step, value), ...]} in row order, empty cells left out (a
    monitor row shares its step, and the epoch column, with a training row)."""
    series: dict[str, list[tuple[int, float]]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key != "step" and value:
                    series.setdefault(key, []).append((int(row["step"]), float(value)))
    return series


def _tensorboard_series(folder: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _assert_same(csv_series: dict[str, list[tuple[int, float]]], logged: dict) -> None:
    """Every metrics.csv column is a series with the same steps, none twice more than in
    the CSV, and the same values (float32; the CSV keeps 6 significant digits); nothing
    else was logged."""
    assert set(logged) == set(csv_series)
    for key, expected in csv_series.items():
        got = sorted(logged[key], key=lambda p: p[0])  # stable: rows of one step keep order
        assert [s for s, _ in got] == [s for s, _ in expected], key
        for (step, value), (_, want) in zip(got, expected, strict=True):
            assert value == pytest.approx(want, rel=1e-5, abs=1e-6), (key, step)


def test_tensorboard_events_match_metrics_csv_and_the_projector_is_written(
    tmp_path: Path, one_thread
) -> None:
    run = tmp_path / "run"
    train_and_evaluate(run, **TINY)
    series = _csv_series(run / "metrics.csv")
    for key in ("loss", "lr", "items_per_s", "knn_top1", "rep_std", "rep_rank", "collapsed"):
        assert key in series, key
    _assert_same(series, _tensorboard_series(run / "tensorboard"))

    config = (run / "tensorboard" / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "test:00012"' in config and "sprite" in config
    folder = run / "tensorboard" / "00012" / "test"
    n_test = 360  # digits: 1,797 items, a fifth held out for the test split
    metadata = (folder / "metadata.tsv").read_text().splitlines()
    assert metadata[0] == "id\tlabel" and len(metadata) == 1 + n_test
    assert {line.split("\t")[1] for line in metadata[1:]} <= {str(d) for d in range(10)}
    vectors = (folder / "tensors.tsv").read_text().splitlines()
    assert len(vectors) == n_test and len(vectors[0].split("\t")) == 256  # compact_cnn features
    assert (folder / "sprite.png").stat().st_size > 0


def _trainer(run_dir: Path, names: list[str]) -> Trainer:
    torch.manual_seed(0)
    method = SimCLR(CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=16)
    views = ImageViews.simclr(size=8, blur_p=0.5, jitter_p=0.8)
    return Trainer(
        method, views, optimizer="lars", lr=0.5, batch_size=64, steps=10, precision="fp32",
        run_dir=run_dir, checkpoint_every=4, progress=False, log_every=1, loggers=names,
    )  # fmt: skip


def test_resume_continues_the_event_folder_without_duplicate_steps(tmp_path, one_thread):
    """A crash after step 6 with the newest checkpoint at step 4: the resumed run logs
    steps 5 and 6 again; TensorBoard (like metrics.csv) keeps them once."""
    data = load_digits("train")
    run = tmp_path / "run"
    _trainer(run, ["tensorboard"]).fit(data, stop_at_step=6)
    newest = list_checkpoints(run / "checkpoints")[-1]
    assert "6" in newest.name
    newest.unlink()  # as if the run died before writing it
    second = _trainer(run, ["tensorboard"])
    second.fit(data, resume=True)
    assert second.step == 10
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 2
    series = _csv_series(run / "metrics.csv")
    assert [step for step, _ in series["loss"]] == list(range(1, 11))
    _assert_same(series, _tensorboard_series(run / "tensorboard"))


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """`python -m contrastkit.cli` of this checkout, one thread, no tracking servers."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "MLFLOW_"))}
    base.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "contrastkit.cli", *args], cwd=cwd, env={**base, **(env or {})},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _tiny_run(run: Path, *extra: str) -> list[str]:
    return [
        "train", "--dataset", "digits", "--steps", "6", "--batch-size", "64", "-o", str(run),
        "--set", "train.log_every=2", "--set", "train.monitor_every=0",
        "--set", "model.proj_hidden_dim=32", "--no-progress", "--no-evaluate", *extra,
    ]  # fmt: skip


def test_cli_logger_mlflow_writes_a_local_run_with_the_metrics(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    run = tmp_path / "run"
    result = _cli(*_tiny_run(run, "--logger", "mlflow"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{run}/mlflow.db")
    run_id = (run / "mlflow-run-id").read_text().strip()
    found = client.get_run(run_id)
    assert found.info.status == "FINISHED"
    assert found.data.params["method.name"] == "simclr"
    csv_series = _csv_series(run / "metrics.csv")
    logged = {
        key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)]
        for key in found.data.metrics
    }
    _assert_same(csv_series, logged)
    assert (run / "tensorboard").is_dir()  # --logger adds to the default loggers


def _wandb_records(path: Path) -> list[bytes]:
    """The records of a .wandb file (a LevelDB-style log: 7-byte file header, 32 KiB blocks,
    each record a 7-byte header (crc, length, type) and its bytes, possibly in pieces)."""
    data, block = path.read_bytes(), 32768
    records, piece, pos = [], b"", 7
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # the rest of a block is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        piece += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            records.append(piece)
            piece = b""
    return records


def test_cli_logger_wandb_offline_writes_an_offline_run_with_the_metrics(tmp_path: Path) -> None:
    from wandb.proto import wandb_internal_pb2

    run = tmp_path / "run"
    home = {f"WANDB_{k}_DIR": str(tmp_path / k.lower()) for k in ("CACHE", "CONFIG", "DATA")}
    result = _cli(*_tiny_run(run, "--logger", "wandb"), cwd=tmp_path, env=home)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = (run / "wandb" / "contrastkit-run-id").read_text().strip()
    offline = list((run / "wandb").glob(f"offline-run-*-{run_id}"))
    assert len(offline) == 1, list((run / "wandb").iterdir())
    logged: dict[str, list[tuple[int, float]]] = {}
    for raw in _wandb_records(offline[0] / f"run-{run_id}.wandb"):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "history":
            for item in record.history.item:
                key = item.key or "/".join(item.nested_key)
                if not key.startswith("_"):  # wandb's own _step, _runtime, _timestamp
                    logged.setdefault(key, []).append(
                        (record.history.step.num, json.loads(item.value_json))
                    )
    _assert_same(_csv_series(run / "metrics.csv"), logged)


def test_unknown_logger_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = _cli(*_tiny_run(run, "--logger", "tensorbord"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --logger: unknown logger 'tensorbord'; choose from csv, tensorboard, wandb, mlflow"
    ]
    assert not run.exists()
    with pytest.raises(ConfigError, match=r"config key 'train.loggers': unknown logger 'neptune'"):
        load_config(None, {"data.dataset": "digits", "train.steps": 1,
                           "train.loggers": ["csv", "neptune"]})  # fmt: skip


def test_a_missing_package_is_named_before_training(monkeypatch) -> None:
    real = loggers.importlib.util.find_spec
    monkeypatch.setattr(
        loggers.importlib.util, "find_spec", lambda name: None if name == "wandb" else real(name)
    )
    with pytest.raises(ConfigError, match=r"contrastkit\[wandb\]"):
        loggers.check_loggers(["tensorboard", "wandb"])
    assert loggers.check_loggers(["tensorboard", "csv", "tensorboard"]) == ["csv", "tensorboard"]
