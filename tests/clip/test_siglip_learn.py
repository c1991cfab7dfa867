"""SigLIP on the emoji image-caption pairs (the `emoji` recipe's data, rendered from the
installed Noto Color Emoji font): a short run's loss falls, the learned temperature and
bias move, held-out retrieval beats chance, and with Matryoshka eval.json holds the main
metric at each nested size."""

from __future__ import annotations

import json

import pytest
import torch

from contrastkit.pipeline.evaluate_run import evaluate
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train

pytestmark = pytest.mark.slow

SMALL = {"data.dataset": "emoji", "data.image_size": 16, "model.widths": [8, 16],
         "model.text_model": "scratch", "model.text_dim": 32, "model.text_layers": 1,
         "train.batch_size": 64, "train.precision": "fp32", "train.threads": 1,
         "train.log_every": 5}  # fmt: skip


@pytest.mark.xfail(
    reason="known, not yet understood: passed alone (recall@1 0.010 vs chance 0.0015), but in "
    "the whole-suite run of 2026-12-02 every system scored exactly chance (1/676); to fix",
    strict=False,
)
def test_siglip_on_emoji_pairs_learns(tmp_path):
    """About a minute on one thread: 150 steps, then the evaluation."""
    run = tmp_path / "run"
    cfg = load_config(None, {**SMALL, "method.name": "siglip", "method.embed_dim": 32,
                             "method.matryoshka_dims": [8, 16, 32], "train.steps": 150,
                             "train.run_dir": str(run)})  # fmt: skip
    assert not cfg.method.params["lock_text"]  # a tower from scratch trains
    torch.manual_seed(0)
    fit, _ = train(cfg, progress=False)
    rows = [r for r in fit.history if "loss" in r]
    first = sum(r["loss"] for r in rows[:3]) / 3
    last = sum(r["loss"] for r in rows[-3:]) / 3
    assert last < 0.8 * first, (first, last)
    assert rows[-1]["logit_bias"] != -10.0  # the bias is learned
    evaluate(run, device="cpu")
    report = json.loads((run / "eval.json").read_text())
    main = "image_to_text/recall@1"
    value = {r["system"]: r["value"] for r in report["rows"] if r["metric"] == main}
    assert value["contrastkit siglip"] > 2 * value["chance"], value
    nested = {r["dim"]: r["value"] for r in report["matryoshka"] if r["metric"] == main}
    assert sorted(nested) == [8, 16, 32]
    assert nested[32] == pytest.approx(value["contrastkit siglip"])
    assert nested[8] > value["chance"], (nested, value)
