"""Exact resume: 2N steps in one go equal N steps, stop, resume, N more steps."""

from __future__ import annotations

import csv

import pytest
import torch

from contrastkit.data import load_digits
from contrastkit.encoders import CompactCNN
from contrastkit.methods import SimCLR
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train
from contrastkit.train.checkpoint import list_checkpoints
from contrastkit.train.trainer import Trainer
from contrastkit.views import ImageViews

N = 6


def _trainer(run_dir, precision: str) -> Trainer:
    torch.manual_seed(0)
    method = SimCLR(CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=16)
    views = ImageViews.simclr(size=8, blur_p=0.5, jitter_p=0.8)
    return Trainer(
        method,
        views,
        optimizer="lars",
        lr=0.5,
        batch_size=64,
        steps=2 * N,
        precision=precision,
        run_dir=run_dir,
        checkpoint_every=4,
        progress=False,
        log_every=1,
    )


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.method.state_dict().items()}


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_stop_and_resume_equals_uninterrupted(tmp_path, precision):
    data = load_digits("train")
    straight = _trainer(tmp_path / "a", precision)
    straight.fit(data)

    first = _trainer(tmp_path / "b", precision)
    first.fit(data, stop_at_step=N)
    assert first.step == N
    assert not (tmp_path / "b" / "encoder.safetensors").exists()  # paused, not finished

    second = _trainer(tmp_path / "b", precision)
    torch.manual_seed(123)  # resume must restore the RNG state itself
    second.fit(data, resume=True)
    assert second.step == 2 * N

    a, b = _weights(straight), _weights(second)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    for group_a, group_b in zip(
        straight.optimizer.state_dict()["state"].values(),
        second.optimizer.state_dict()["state"].values(),
        strict=True,
    ):
        assert torch.equal(group_a["momentum_buffer"], group_b["momentum_buffer"])

    with open(tmp_path / "b" / "metrics.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f) if r.get("loss")]
    assert steps == list(range(1, 2 * N + 1))
    assert len(list_checkpoints(tmp_path / "b" / "checkpoints")) <= 2


def test_pipeline_resume_from_run_folder(tmp_path):
    cfg = load_config(
        None,
        {
            "data.dataset": "digits",
            "data.holdout": 100,
            "data.monitor_bank": 500,
            "model.widths": [8, 16],
            "model.proj_hidden_dim": 32,
            "train.batch_size": 64,
            "train.steps": 2 * N,
            "train.precision": "fp32",
            "train.run_dir": str(tmp_path / "run"),
        },
    )
    straight_cfg = cfg.model_copy(deep=True)
    straight_cfg.train.run_dir = str(tmp_path / "straight")
    train(straight_cfg, progress=False)

    paused, run_dir = train(cfg, progress=False, stop_at_step=N)
    assert paused.steps == N
    resumed, _ = train(None, run_dir=run_dir, resume=True, progress=False)
    assert resumed.steps == 2 * N
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "straight" / "encoder.safetensors"))
    b = load_file(str(run_dir / "encoder.safetensors"))
    for key in a:
        assert torch.equal(a[key], b[key]), key
