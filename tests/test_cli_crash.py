"""Crash safety of `contrastkit train` as a real subprocess on digits: a run killed with
SIGKILL at a random step and resumed ends with the weights of an uninterrupted run, and
SIGTERM saves a checkpoint before exiting."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.test_cli import _script

STEPS = 120
ARGS = ["--dataset", "digits", "--steps", str(STEPS), "--batch-size", "64",
        "--set", "train.checkpoint_every=5", "--set", "train.log_every=1",
        "--set", "train.monitor_every=0", "--no-progress", "--no-evaluate"]  # fmt: skip
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([_script(), "train", *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _logged_steps(run_dir: Path) -> int:
    path = run_dir / "metrics.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.is_file() else 0


def _wait_for_step(proc: subprocess.Popen[str], run_dir: Path, step: int) -> None:
    deadline = time.monotonic() + 300
    while _logged_steps(run_dir) < step:
        assert proc.poll() is None, f"run ended before step {step}: {proc.communicate()}"
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.005)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out + err


@pytest.mark.slow
def test_sigkill_at_a_random_step_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    code, out = _finish(_start(*ARGS, "--run-dir", str(straight)))
    assert code == 0, out

    kill_at = random.randint(8, STEPS - 20)
    killed = tmp_path / "killed"
    proc = _start(*ARGS, "--run-dir", str(killed))
    _wait_for_step(proc, killed, kill_at)
    proc.send_signal(signal.SIGKILL)
    code, _ = _finish(proc)
    assert code == -signal.SIGKILL
    assert not (killed / "encoder.safetensors").exists(), f"killed too late (step {kill_at})"

    code, out = _finish(_start("--resume", str(killed)))
    assert code == 0, out
    assert "resuming from" in out and "checkpoints/step_" in out
    got = load_file(str(killed / "method.safetensors"))
    want = load_file(str(straight / "method.safetensors"))
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], msg=f"{key} (killed at step {kill_at})")
    assert _logged_steps(killed) == STEPS  # the steps after the checkpoint were logged once


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_exits_with_143(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _start(*ARGS, "--run-dir", str(run))
    _wait_for_step(proc, run, 7)
    proc.send_signal(signal.SIGTERM)
    code, out = _finish(proc)
    assert code == 128 + signal.SIGTERM, out
    assert "interrupted (SIGTERM)" in out and "--resume" in out and "Traceback" not in out
    saved = sorted((run / "checkpoints").glob("step_*.pt"))
    step = torch.load(saved[-1], weights_only=True)["step"]
    assert step >= 7 and f"step_{step:08d}.pt" in out  # saved at the step it stopped
