"""`contrastkit evaluate`: score a run's encoder on the evaluation its data allows, with
the raw-input and random-init baselines in the same table, for every modality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from contrastkit.evaluate.knn_protocol import KNN_AT
from contrastkit.evaluate.linear import PROBE_AT
from contrastkit.evaluate.report import format_records
from contrastkit.files import write_json
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.card import write_card
from contrastkit.pipeline.nested_eval import nested_scores
from contrastkit.pipeline.projector import write_projector
from contrastkit.pipeline.settings import read_run_config
from contrastkit.progress import bar
from contrastkit.train.devices import resolve_device

__all__ = ["evaluate", "load_run_model", "on_device"]


def load_run_model(run_dir: str | Path, device: torch.device | None = None):
    """(config, modality, prepared data, trained model) of a finished run folder; the model
    moved to `device` when given (embedding then runs there)."""
    cfg = read_run_config(run_dir)
    modality = get_modality(cfg.data.modality)
    data = modality.prepare(cfg, Path(run_dir))
    cfg = modality.resolve(cfg, data)
    trained = modality.load_trained(cfg, data, Path(run_dir))
    return cfg, modality, data, trained if device is None else on_device(trained, device)


def _knn_at_k(scored: list[dict[str, Any]], k: int, temperature: float) -> dict[str, Any]:
    """eval.json's kNN protocol line and the accuracy of each system at every reported k."""
    at_k = [
        {"system": r["system"], "k": k if r["metric"] == "knn_top1" else
         int(r["metric"].removeprefix(KNN_AT)), "value": r["value"]}
        for r in scored if r["metric"] == "knn_top1" or r["metric"].startswith(KNN_AT)
    ]  # fmt: skip
    ks = sorted({r["k"] for r in at_k} - {k})
    also = f"; eval.json's knn_at_k also has k={', '.join(map(str, ks))}" if ks else ""
    protocol = (
        f"weighted kNN (cosine, exp(sim/t) votes, Wu et al. 2018) at k={k}, t={temperature:g} "
        f"(eval.knn_k, the default protocol){also}"
    )
    return {"knn_protocol": protocol, "knn_at_k": sorted(at_k, key=lambda r: r["k"])}


_PROBE_TYPES = {"converged": bool, "iterations": int}  # the others stay floats


def _probe_solves(scored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per system, how its linear probe's solve ended: {"system", "converged", "iterations",
    "gradient_max", "tolerance"}."""
    solves: dict[str, dict[str, Any]] = {}
    for r in scored:
        if r["metric"].startswith(PROBE_AT):
            field = r["metric"].removeprefix(PROBE_AT)
            value = _PROBE_TYPES.get(field, float)(r["value"])
            solves.setdefault(r["system"], {"system": r["system"]})[field] = value
    return list(solves.values())


def on_device(model: Any, device: torch.device) -> Any:
    """`model` moved to `device` if it is a module; a raw-input baseline (a function,
    TF-IDF, a marker string) as it is, computing on the CPU."""
    return model.to(device) if isinstance(model, torch.nn.Module) else model


def evaluate(
    run_dir: str | Path, *, baselines: bool = True, linear: bool = True, device: str = "auto"
) -> list[dict[str, Any]]:
    """Score the run's trained model and (with `baselines`) the modality's baselines, with
    every encoder on `device` ("auto", "cpu", "cuda", "cuda:N", "mps"; features come back to
    the CPU for the kNN and linear probes).

    Writes eval.json ({"rows": [{"system", "metric", "value"}], "settings": ...}, and for
    a kNN evaluation "knn_protocol", the default k named, and "knn_at_k": [{"system", "k",
    "value"}] at k = 1, 5, 20, 200 where the bank allows; with a linear probe,
    "linear_probe": [{"system", "converged", "iterations", "gradient_max", "tolerance"}];
    for a Matryoshka run, "matryoshka": [{"dim", "metric", "value"}], the trained model's
    main metric at each size of `method.matryoshka_dims`),
    eval.txt (the table) and README.md (the model card) into the run folder, and the test
    embeddings into the TensorBoard projector (`write_projector`, runs with the tensorboard
    logger); returns the rows. Progress bars (systems, embedding, probes) go to stderr as
    `contrastkit.progress.progress_bars` says.

    Raises:
        ConfigError: `device` is misspelt or missing on this machine (before any work).
    """
    run_dir = Path(run_dir)
    where = resolve_device(device, key="--device")
    cfg, modality, data, trained = load_run_model(run_dir, where)
    cfg.eval.linear = cfg.eval.linear and linear
    systems = [(f"contrastkit {cfg.method.name}", trained)]
    if baselines:
        torch.manual_seed(cfg.train.seed)  # the random-init encoder is the run's own start
        systems += [(name, on_device(m, where)) for name, m in modality.baselines(cfg, data)]
    scored: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    with bar(len(systems) + bool(cfg.eval.few_labels), "evaluate", unit="system") as progress:
        for name, model in systems:
            progress.set_postfix_str(name)
            scores = modality.score(model, cfg, data)
            scored += [{"system": name, "metric": m, "value": v} for m, v in scores.items()]
            progress.update()
        rows = [r for r in scored if not r["metric"].startswith((KNN_AT, PROBE_AT))]
        if cfg.eval.few_labels:
            progress.set_postfix_str("few labels")
            rows += modality.few_label_rows(trained, cfg, data)
            progress.update()
    write_projector(run_dir, cfg, modality, data, trained)  # with the tensorboard logger
    settings = {"modality": modality.name, "device": str(where), **cfg.eval.model_dump()}
    report: dict[str, Any] = {"rows": rows, "settings": settings}
    if any(r["metric"] == "knn_top1" for r in rows):
        report.update(_knn_at_k(scored, cfg.eval.knn_k, cfg.eval.knn_temperature))
    if solves := _probe_solves(scored):
        report["linear_probe"] = solves
    if dims := cfg.method.params.get("matryoshka_dims"):
        report["matryoshka"] = nested_scores(modality, trained, cfg, data, dims)
    write_json(run_dir / "eval.json", report)
    (run_dir / "eval.txt").write_text(format_records(rows) + "\n")
    write_card(run_dir)  # the model card, now with the evaluation table
    return rows
