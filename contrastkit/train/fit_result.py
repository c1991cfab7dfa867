"""What a fit returns, and how the trainer averages logged rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FitResult:
    """Summary of a finished (or paused) fit."""

    steps: int
    epochs: float
    train_seconds: float
    items_per_second: float
    final_loss: float
    knn_accuracy: float | None = None
    collapsed_at_step: int | None = None
    run_dir: Path | None = None
    history: list[dict] = field(default_factory=list)
    paused: bool = False  # stopped at `stop_at_step` before the budget ran out
    skipped_steps: int = 0  # steps skipped as non-finite (over the whole run, resumes too)


def mean_row(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each key over the rows that have it (collapse stats come every log step)."""
    keys = dict.fromkeys(k for r in rows for k in r)
    out = {}
    for k in keys:
        values = [r[k] for r in rows if k in r]
        out[k] = sum(values) / len(values)
    return out
