"""Tiny synthetic run folders for the report tests: a digits image run with a random-init
encoder and made-up logs, a bare run with nothing but a config, and a text run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from contrastkit.modalities.image import ImageModality
from contrastkit.pipeline.runs import write_config
from contrastkit.pipeline.settings import load_config
from contrastkit.train.checkpoint import save_weights
from contrastkit.train.metrics_log import CsvLog


def _digits_config(run_dir: Path):
    cfg = load_config(
        None,
        {
            "data.dataset": "digits",
            "data.holdout": 0,
            "model.widths": [8, 16],
            "train.steps": 40,
            "train.batch_size": 32,
            "train.run_dir": str(run_dir),
            "eval.knn_k": 10,
        },
    )
    return ImageModality().resolve(cfg, ImageModality().prepare(cfg, None))


def write_metrics(run_dir: Path, steps: int = 40, knn: bool = True, collapse: bool = True) -> None:
    """A metrics.csv shaped like the trainer's: loss/lr rows, then kNN rows."""
    log = CsvLog(run_dir / "metrics.csv")
    for step in range(5, steps + 1, 5):
        row = {
            "loss": 4.0 * math.exp(-step / 30) + 1.0,
            "lr": 0.3 * min(1.0, step / 10) * (1 - step / (steps + 1)),
            "items_per_s": 900.0 + step,
        }
        if collapse:
            row |= {
                "rep_std": 0.5 + step / 400,
                "rep_rank": 30 - step / 10,
                "align": 0.4 - step / 500,
                "uniform": -1.0 - step / 100,
            }
        log.append({**row, "step": step, "epoch": step / 44})
        if knn and step % 20 == 0:
            log.append({"step": step, "epoch": step / 44, "knn_top1": 0.5 + step / 200})


def write_summary(run_dir: Path, **extra: object) -> None:
    summary = {
        "steps": 40,
        "epochs": 0.9,
        "train_seconds": 3.5,
        "items_per_second": 910.0,
        "final_loss": 1.7,
        "knn_accuracy": 0.7,
        "collapsed_at_step": None,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary | extra))


@pytest.fixture
def image_run(tmp_path: Path) -> Path:
    """A digits run folder with config, random-init encoder, metrics with kNN and collapse
    columns, summary and an eval.json."""
    run = tmp_path / "image-run"
    run.mkdir()
    cfg = _digits_config(run)
    write_config(run, cfg)
    torch.manual_seed(0)
    data = ImageModality().prepare(cfg, None)
    save_weights(ImageModality().build_encoder(cfg, data), run / "encoder.safetensors")
    write_metrics(run)
    write_summary(run)
    records = [
        {"system": "contrastkit simclr", "metric": "knn_top1", "value": 0.9, "k": 10,
         "temperature": 0.1},
        {"system": "contrastkit simclr", "metric": "linear_top1", "value": 0.93},
        {"system": "contrastkit simclr", "metric": "knn_seconds", "value": 0.01},
        {"system": "raw pixels", "metric": "knn_top1", "value": 0.95, "k": 10,
         "temperature": 0.1},
        {"system": "raw pixels", "metric": "linear_top1", "value": 0.94},
    ]  # fmt: skip
    (run / "eval.json").write_text(json.dumps({"rows": records}))
    return run


@pytest.fixture
def bare_run(tmp_path: Path) -> Path:
    """A run folder that has only its config and loss/lr rows: no kNN or collapse columns,
    no encoder, no summary, no evaluation."""
    run = tmp_path / "bare-run"
    run.mkdir()
    write_config(run, _digits_config(run))
    write_metrics(run, knn=False, collapse=False)
    return run


@pytest.fixture
def text_run(tmp_path: Path) -> Path:
    """A text run folder over a small pairs file, with a tiny scratch model as start and as
    the exported model, and an eval.json of retrieval scores."""
    pytest.importorskip("transformers", reason="text runs need the text extra")
    from contrastkit.encoders.text import TextEncoder

    animals = ["cat", "dog", "horse", "cow", "sheep", "goat", "duck", "hen", "pig", "fox"]
    rows = [("anchor", "positive")]
    for i in range(60):
        a = animals[i % len(animals)]
        rows.append((f"a photo of a {a} number {i}", f"the {a} seen in picture {i}"))
    data = tmp_path / "pairs.tsv"
    data.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    run = tmp_path / "text-run"
    run.mkdir()
    cfg = load_config(None, {"data.dataset": str(data), "data.test_size": 20,
                             "model.name": "scratch", "train.steps": 40})  # fmt: skip
    write_config(run, cfg)
    write_metrics(run, knn=False, collapse=False)
    corpus = [t for r in rows[1:] for t in r]
    encoder = TextEncoder.from_scratch(
        corpus, vocab_size=200, dim=32, layers=1, heads=2, max_length=16
    )
    encoder.save(run / "init")
    encoder.save(run / "model")
    write_summary(run)
    records = [
        {"system": "contrastkit simclr", "metric": "recall@1", "value": 0.3},
        {"system": "TF-IDF", "metric": "recall@1", "value": 0.2},
    ]
    (run / "eval.json").write_text(json.dumps({"rows": records}))
    return run
