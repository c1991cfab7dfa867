"""On a CUDA machine: the method, its state and its batches live on the GPU, fp16 trains
with gradient scaling, and `--nproc 2` uses NCCL with one GPU per process. These tests run
only where CUDA exists (the README lists them as not run on the CPU-only CI machine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from contrastkit.encoders.vision import CompactCNN
from contrastkit.methods import MoCo
from contrastkit.train.trainer import Trainer
from contrastkit.views.pipeline import ImageViews
from tests.test_cli import _output, _run

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("precision", ["auto", "fp16"])
def test_moco_trains_on_the_gpu(precision: str) -> None:
    from contrastkit.data.digits import load_digits

    method = MoCo(CompactCNN(1, widths=(8, 16)), queue_size=64, proj_hidden_dim=32, proj_dim=16)
    trainer = Trainer(method, ImageViews.simclr(8), batch_size=32, steps=4, device="cuda",
                      precision=precision, progress=False)  # fmt: skip
    result = trainer.fit(load_digits("train"))
    assert trainer.device.type == "cuda" and trainer.views_rng.device.type == "cuda"
    assert all(t.is_cuda for t in method.state_dict().values())  # queue and key encoder too
    assert trainer.scaler.is_enabled() == (precision == "fp16")
    assert result.steps == 4 and torch.isfinite(torch.tensor(result.final_loss))


def test_cli_trains_on_cuda(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = _run("train", "--dataset", "digits", "--steps", "3", "--batch-size", "32",
                  "--device", "cuda", "--run-dir", str(run), "--no-progress",
                  "--no-evaluate", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, _output(result)
    assert json.loads((run / "summary.json").read_text())["device"].startswith("cuda")


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_two_processes_use_nccl_on_two_gpus(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = _run("train", "--dataset", "digits", "--steps", "3", "--batch-size", "32",
                  "--nproc", "2", "--run-dir", str(run), "--no-progress", "--no-evaluate",
                  cwd=tmp_path, timeout=300)  # fmt: skip
    assert result.returncode == 0, _output(result)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["device"] == "cuda:0"
