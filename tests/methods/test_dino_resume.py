"""DINO resumes exactly: the teacher, the center and the schedules' position (training
progress, steps done, momentum) after k steps, a checkpoint and a resume equal an
uninterrupted run, with multi-crop views."""

from __future__ import annotations

import torch

from contrastkit.data import load_digits
from contrastkit.encoders import CompactCNN
from contrastkit.methods import DINO
from contrastkit.train.trainer import Trainer
from contrastkit.views import ImageViews

STEPS = 8


def _trainer(run_dir) -> Trainer:
    torch.manual_seed(0)
    method = DINO(
        CompactCNN(1, widths=(8, 16)),
        out_dim=64,
        momentum=0.9,
        teacher_temperature_warmup=0.5,
        freeze_last_layer_steps=2,
        proj_hidden_dim=32,
        proj_dim=16,
    )
    views = ImageViews.simclr(size=8, local_views=2, local_size=4, blur_p=0, jitter_p=0.8)
    return Trainer(
        method,
        views,
        optimizer="sgd",
        lr=0.05,
        batch_size=32,
        steps=STEPS,
        precision="fp32",
        run_dir=run_dir,
        checkpoint_every=3,
        progress=False,
        log_every=1,
    )


def test_dino_resumes_its_teacher_center_and_schedules_exactly(tmp_path):
    data = load_digits("train")
    straight = _trainer(tmp_path / "a")
    straight.fit(data)

    first = _trainer(tmp_path / "b")
    first.fit(data, stop_at_step=3)
    assert float(first.method.progress) == 3 / STEPS
    second = _trainer(tmp_path / "b")  # a new process: fresh center, teacher and schedules
    assert float(second.method.progress) == 0.0 and second.method.criterion.center.eq(0).all()
    torch.manual_seed(123)
    second.fit(data, resume=True)

    a, b = straight.method, second.method
    assert float(a.criterion.center.abs().sum()) > 0  # the center did move
    assert int(b.steps_done) == STEPS and float(b.progress) == 1.0
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in ("criterion.center", "progress", "steps_done"):
        assert key in state_a
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    assert a.momentum == b.momentum == 1.0
    assert a.teacher_temperature() == b.teacher_temperature() == 0.07
    rows_a = [r["loss"] for r in straight.history if "loss" in r]
    rows_b = [r["loss"] for r in second.history if "loss" in r]
    assert rows_a[3:] == rows_b  # the resumed steps saw the same temperatures and center
