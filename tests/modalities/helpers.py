"""Train a short run through the one run path and read back its evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from contrastkit.evaluate.geometry import effective_rank, normalized_std
from contrastkit.pipeline.embedder import load_embedder
from contrastkit.pipeline.evaluate_run import evaluate
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train


def train_and_evaluate(run_dir: Path, **overrides: Any) -> tuple[Any, dict[tuple[str, str], float]]:
    """`contrastkit train` + `evaluate` in-process; returns the fit and {(system, metric): v}."""
    settings = {k.replace("__", "."): v for k, v in overrides.items()}
    cfg = load_config(None, {**settings, "train.run_dir": str(run_dir)})
    torch.manual_seed(0)
    fit, _ = train(cfg, progress=False)
    rows = evaluate(run_dir)
    return fit, {(r["system"], r["metric"]): r["value"] for r in rows}


def loss_fell(fit: Any, by: float = 0.0) -> tuple[float, float]:
    """(mean loss of the first two logged rows, of the last two); asserts the fall."""
    losses = [row["loss"] for row in fit.history if "loss" in row]
    first, last = sum(losses[:2]) / 2, sum(losses[-2:]) / 2
    assert last < first - by, f"loss {first:.3f} -> {last:.3f}"
    return first, last


def spread(run_dir: Path, split: str = "test") -> tuple[float, float]:
    """(effective rank, normalised std) of the run's embeddings of `split` (collapse check)."""
    z = torch.from_numpy(load_embedder(run_dir).embed_source(None, split).vectors)
    return effective_rank(z), normalized_std(z)
