"""The metric-learning path end to end on digits: `multi_similarity` with `data.m_per_class`
and a cross-batch memory trains through the one run path, resumes, and `evaluate` writes
MAP@R, R-precision and precision@1 for every system into eval.json; bad m-per-class
settings are refused with one sentence naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from contrastkit.errors import ContrastkitError
from contrastkit.evaluate.metric_retrieval import RETRIEVAL_METRICS
from contrastkit.pipeline.evaluate_run import evaluate
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train

pytestmark = pytest.mark.slow

SETTINGS = {"data.dataset": "digits", "data.holdout": 0, "model.widths": [8, 16],
            "train.batch_size": 32, "train.steps": 6, "train.monitor_every": 0,
            "train.precision": "fp32", "train.checkpoint_every": 3,
            "method.name": "multi_similarity", "method.memory_size": 128,
            "method.memory_start": 2, "data.m_per_class": 4}  # fmt: skip


def _train(run_dir: Path, stop: int | None = None, resume: bool = False, **extra):
    cfg = None if resume else load_config(None, {**SETTINGS, **extra})  # resume: its own
    return train(cfg, run_dir=run_dir, progress=False, stop_at_step=stop, resume=resume,
                 device="cpu")  # fmt: skip


def _weights(run_dir: Path) -> dict:
    from contrastkit.train.checkpoint import latest_checkpoint

    return latest_checkpoint(run_dir / "checkpoints")[1]["method"]


def test_a_metric_learning_run_trains_resumes_and_reports_map_at_r(tmp_path: Path):
    torch.set_num_threads(1)
    _train(tmp_path / "a")
    _train(tmp_path / "b", stop=3)
    _train(tmp_path / "b", resume=True)
    straight, resumed = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert "memory.queue.rows" in straight
    for key, value in straight.items():  # parameters and the memory, exactly
        assert torch.equal(value, resumed[key]), key
    evaluate(tmp_path / "a", device="cpu")
    rows = json.loads((tmp_path / "a" / "eval.json").read_text())["rows"]
    systems = {r["system"] for r in rows}
    assert len(systems) >= 3  # trained, raw pixels, random init
    for system in systems:
        found = {r["metric"]: r["value"] for r in rows if r["system"] == system}
        for metric in RETRIEVAL_METRICS:
            assert 0 <= found[metric] <= 1, (system, metric)


@pytest.mark.parametrize(
    "extra,message",
    [({"data.m_per_class": 5}, r"train\.batch_size must be divisible by data\.m_per_class"),
     ({"data.m_per_class": 2, "train.batch_size": 64}, r"needs at least 32 classes, got 10")],
)  # fmt: skip
def test_bad_m_per_class_is_refused_naming_the_field(tmp_path: Path, extra, message):
    with pytest.raises(ContrastkitError, match=message):
        _train(tmp_path / "run", **extra)
