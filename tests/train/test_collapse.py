"""Collapse indicators, the warning, and their columns in metrics.csv."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from contrastkit.data import load_digits
from contrastkit.encoders import CompactCNN
from contrastkit.evaluate.geometry import alignment, uniformity
from contrastkit.methods import SimCLR
from contrastkit.train.collapse import CollapseWarning, CollapseWatch, collapse_stats
from contrastkit.train.trainer import Trainer
from contrastkit.views import ImageViews


def test_stats_of_healthy_and_collapsed_embeddings():
    g = torch.Generator().manual_seed(0)
    spread = torch.randn(256, 32, generator=g)
    healthy = collapse_stats(spread, spread + 0.01 * torch.randn(256, 32, generator=g))
    point = torch.ones(256, 32) + 1e-6 * torch.randn(256, 32, generator=g)
    collapsed = collapse_stats(point, point)
    line = torch.randn(256, 1, generator=g) @ torch.randn(1, 32, generator=g)  # dimensional
    assert healthy["rep_std"] > 0.9 and collapsed["rep_std"] < 1e-3
    assert healthy["rep_rank"] > 20 and collapse_stats(line, line)["rep_rank"] < 1.01
    assert healthy["align"] < 1e-3
    assert collapsed["uniform"] == pytest.approx(0.0, abs=1e-4)
    assert healthy["uniform"] < -2.0


def test_alignment_and_uniformity_against_loops():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    na, nb = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    want_align = sum(float((na[i] - nb[i]).norm() ** 2) for i in range(7)) / 7
    assert alignment(a, b) == pytest.approx(want_align, rel=1e-5)
    pairs = [(i, j) for i in range(7) for j in range(i + 1, 7)]
    mean = sum(math.exp(-2 * float((na[i] - na[j]).norm() ** 2)) for i, j in pairs) / len(pairs)
    assert uniformity(a) == pytest.approx(math.log(mean), rel=1e-5)


def test_watch_warns_once_after_patience():
    watch = CollapseWatch(min_std=0.1, min_rank=2, patience=2)
    bad = {"rep_std": 0.01, "rep_rank": 5.0}
    good = {"rep_std": 0.5, "rep_rank": 5.0}
    assert not watch.update(bad, 10)
    assert not watch.update(good, 20)  # the streak resets
    assert not watch.update(bad, 30)
    with pytest.warns(CollapseWarning, match="step 40"):
        assert watch.update(bad, 40)
    assert watch.collapsed_at == 40


def test_trainer_logs_collapse_columns(tmp_path):
    torch.manual_seed(0)
    method = SimCLR(CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=16)
    trainer = Trainer(
        method,
        ImageViews.simclr(size=8, blur_p=0),
        batch_size=64,
        steps=4,
        run_dir=tmp_path,
        progress=False,
        log_every=2,
    )
    result = trainer.fit(load_digits("train"))
    with open(tmp_path / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("loss")]
    assert [int(r["step"]) for r in rows] == [2, 4]
    for r in rows:
        for key in ("rep_std", "rep_rank", "align", "uniform"):
            assert math.isfinite(float(r[key])), key
    assert result.collapsed_at_step is None
