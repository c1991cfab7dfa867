"""`contrastkit evaluate`: score a run's encoder on the evaluation its data allows, with
the raw-input and random-init baselines in the same table, for every modality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from contrastkit.evaluate.report import format_records
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.runs import write_json
from contrastkit.pipeline.settings import read_run_config

__all__ = ["evaluate", "load_run_model"]


def load_run_model(run_dir: str | Path):
    """(config, modality, prepared data, trained model) of a finished run folder."""
    cfg = read_run_config(run_dir)
    modality = get_modality(cfg.data.modality)
    data = modality.prepare(cfg, Path(run_dir))
    cfg = modality.resolve(cfg, data)
    return cfg, modality, data, modality.load_trained(cfg, data, Path(run_dir))


def evaluate(
    run_dir: str | Path, *, baselines: bool = True, linear: bool = True
) -> list[dict[str, Any]]:
    """Score the run's trained model and (with `baselines`) the modality's baselines.

    Writes eval.json ({"rows": [{"system", "metric", "value"}], "settings": ...}) and
    eval.txt (the table) into the run folder; returns the rows.
    """
    run_dir = Path(run_dir)
    cfg, modality, data, trained = load_run_model(run_dir)
    cfg.eval.linear = cfg.eval.linear and linear
    systems = [(f"contrastkit {cfg.method.name}", trained)]
    if baselines:
        torch.manual_seed(cfg.train.seed)  # the random-init encoder is the run's own start
        systems += modality.baselines(cfg, data)
    rows = [
        {"system": name, "metric": metric, "value": value}
        for name, model in systems
        for metric, value in modality.score(model, cfg, data).items()
    ]
    if cfg.eval.few_labels:
        rows += modality.few_label_rows(trained, cfg, data)
    settings = {"modality": modality.name, **cfg.eval.model_dump()}
    write_json(run_dir / "eval.json", {"rows": rows, "settings": settings})
    (run_dir / "eval.txt").write_text(format_records(rows) + "\n")
    return rows
