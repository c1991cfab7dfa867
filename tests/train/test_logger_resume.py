"""Tracking across a crash and `--resume`: `contrastkit train` dies (no cleanup) after
logging step 6 with its newest checkpoint at step 4, then is resumed to step 10. MLflow
holds one run whose histories have each step once, the W&B offline folders share the
stored run id and hold disjoint steps, and the TensorBoard events equal metrics.csv (no
step twice, none lost before the checkpoint)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from contrastkit.train import loggers
from tests.train.test_loggers import (
    ROOT,
    _assert_same,
    _csv_series,
    _tensorboard_series,
    _wandb_records,
)

STEPS, CHECKPOINT, CRASH_AFTER = 10, 4, 6
HAVE = {name: importlib.util.find_spec(name) is not None for name in ("mlflow", "wandb")}
NO_MLFLOW = "mlflow is not installed (pip install 'contrastkit[mlflow]')"
NO_WANDB = "wandb is not installed (pip install 'contrastkit[wandb]')"

# `contrastkit train` that dies like a killed process (os._exit: no finally, no flush)
# when it is about to log the first row after CRASH_AFTER; metrics.csv is the first logger.
_CRASHING_CLI = f"""
import os
from contrastkit.cli import main
from contrastkit.train import metrics_log
append = metrics_log.CsvLog.append
def append_or_die(self, row):
    if row.get("step", 0) > {CRASH_AFTER}:
        os._exit(9)
    append(self, row)
metrics_log.CsvLog.append = append_or_die
main()
"""


@dataclass
class Resumed:
    run: Path
    crashed_steps: list[int]  # metrics.csv steps before the resume


def _python(args: list[str], tmp: Path, log: str) -> int:
    """This checkout's python, one thread, W&B offline with its folders in `tmp`; output
    to a file (a W&B service process left by a crash may hold inherited pipes open)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "MLFLOW_"))}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    env.update(WANDB_MODE="offline", WANDB_DIR=str(tmp / "wandb-dir"))
    env.update({f"WANDB_{k}_DIR": str(tmp / k.lower()) for k in ("CACHE", "CONFIG", "DATA")})
    with (tmp / log).open("w") as out:
        proc = subprocess.run(
            [sys.executable, *args], cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT,
            timeout=300,
        )  # fmt: skip
    return proc.returncode


@pytest.fixture(scope="module")
def resumed(tmp_path_factory) -> Resumed:
    """One crash and resume with every logger that is installed (TensorBoard always)."""
    tmp = tmp_path_factory.mktemp("resume")
    run = tmp / "run"
    extra = [name for name in ("mlflow", "wandb") if HAVE[name]]
    train = [
        "train", "--dataset", "digits", "--steps", str(STEPS), "--batch-size", "64",
        "-o", str(run), "--set", "train.log_every=1", "--set", "train.monitor_every=0",
        "--set", f"train.checkpoint_every={CHECKPOINT}", "--set", "model.proj_hidden_dim=32",
        "--no-progress", "--no-evaluate", *(["--logger", ",".join(extra)] if extra else []),
    ]  # fmt: skip
    code = _python(["-c", _CRASHING_CLI, *train], tmp, "crash.log")
    assert code == 9, (tmp / "crash.log").read_text()
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*.pt")) == [
        f"step_{CHECKPOINT:08d}.pt"
    ]
    crashed = [step for step, _ in _csv_series(run / "metrics.csv")["loss"]]
    assert crashed == list(range(1, CRASH_AFTER + 1))
    resume = ["-m", "contrastkit.cli", "train", "--resume", str(run), "--no-progress",
              "--no-evaluate"]  # fmt: skip
    code = _python(resume, tmp, "resume.log")
    assert code == 0, (tmp / "resume.log").read_text()
    return Resumed(run, crashed)


def test_mlflow_resume_continues_the_one_run_with_each_step_once(resumed: Resumed) -> None:
    if not HAVE["mlflow"]:
        pytest.skip(NO_MLFLOW)
    from mlflow.tracking import MlflowClient

    run = resumed.run
    client = MlflowClient(tracking_uri=f"sqlite:///{run}/mlflow.db")
    found = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [r.info.run_id for r in found] == [(run / "mlflow-run-id").read_text().strip()]
    assert found[0].info.status == "FINISHED"
    csv_series = _csv_series(run / "metrics.csv")
    assert set(found[0].data.metrics) == set(csv_series)
    for key in csv_series:
        history = client.get_metric_history(found[0].info.run_id, key)
        steps = sorted(m.step for m in history)
        assert steps == list(range(1, STEPS + 1)), key  # each step once, up to the last
    # steps 5 and 6 keep the values the crashed process logged; the resume is exact, so
    # the loss equals the resumed run's metrics.csv at every step
    history = client.get_metric_history(found[0].info.run_id, "loss")
    loss = sorted((m.step, m.value) for m in history)
    for (step, value), (_, want) in zip(loss, csv_series["loss"], strict=True):
        assert value == pytest.approx(want, rel=1e-5, abs=1e-6), step


def _offline_history(folder: Path) -> tuple[str, list[int]]:
    """The run id and the history steps of one offline W&B run folder."""
    from wandb.proto import wandb_internal_pb2

    run_id, steps = "", []
    for path in folder.glob("run-*.wandb"):
        for raw in _wandb_records(path):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(raw)
            kind = record.WhichOneof("record_type")
            if kind == "run":
                run_id = record.run.run_id
            elif kind == "history":
                steps.append(record.history.step.num)
    return run_id, steps


def test_wandb_offline_resume_reuses_the_run_id_and_logs_only_new_steps(
    resumed: Resumed,
) -> None:
    if not HAVE["wandb"]:
        pytest.skip(NO_WANDB)
    run_id = (resumed.run / "wandb" / "contrastkit-run-id").read_text().strip()
    folders = sorted((resumed.run / "wandb").glob("offline-run-*"))  # by start time
    assert [f.name.rsplit("-", 1)[1] for f in folders] == [run_id, run_id]
    (first_id, first), (second_id, second) = map(_offline_history, folders)
    assert second_id == run_id  # the crashed process's file may end before its run record
    assert first_id in ("", run_id)
    # the crashed process got as far as step 6 (what reached its file before the crash);
    # the resumed one logs from step 7, so `wandb sync` of both gives each step once
    assert set(first) <= set(resumed.crashed_steps)
    assert second == list(range(CRASH_AFTER + 1, STEPS + 1))


def test_tensorboard_after_a_crash_and_resume_equals_metrics_csv(resumed: Resumed) -> None:
    """The rows up to the checkpoint reached the event file before the crash (loggers are
    flushed before each checkpoint); the resumed run purged the rest and logged it again."""
    series = _csv_series(resumed.run / "metrics.csv")
    assert [step for step, _ in series["loss"]] == list(range(1, STEPS + 1))
    _assert_same(series, _tensorboard_series(resumed.run / "tensorboard"))


def test_mlflow_logger_skips_logged_steps_on_resume_and_a_new_run_gets_a_new_id(
    tmp_path: Path,
) -> None:
    if not HAVE["mlflow"]:
        pytest.skip(NO_MLFLOW)
    from mlflow.tracking import MlflowClient

    log = loggers.open_loggers(tmp_path, ["mlflow"])
    for step in range(1, 7):
        log.log(step, {"loss": float(step), "knn_top1": 0.5} if step == 3 else {"loss": 1.0 * step})
    log.close()
    first = (tmp_path / "mlflow-run-id").read_text().strip()

    log = loggers.open_loggers(tmp_path, ["mlflow"], start_step=2)  # a checkpoint at step 2
    for step in range(3, 9):
        log.log(
            step, {"loss": 10.0 + step, "knn_top1": 0.7} if step == 6 else {"loss": 10.0 + step}
        )
    log.close()
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    assert (tmp_path / "mlflow-run-id").read_text().strip() == first

    def history(key: str) -> list[tuple[int, float]]:
        return sorted((m.step, m.value) for m in client.get_metric_history(first, key))

    assert history("loss") == [(s, float(s)) for s in range(1, 7)] + [(7, 17.0), (8, 18.0)]
    assert history("knn_top1") == [(3, 0.5), (6, 0.7)]  # per metric: step 6 is new for it

    loggers.open_loggers(tmp_path, ["mlflow"]).close()  # start step 0: a new run
    assert (tmp_path / "mlflow-run-id").read_text().strip() != first
