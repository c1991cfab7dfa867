"""Scores every modality reports from frozen features: kNN and a linear probe
(`classification_scores`) and the few-label evaluation (`few_label_rows`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.config import Config

__all__ = ["classification_scores", "few_label_rows"]


def few_label_rows(
    encoder: nn.Module,
    make_scratch: Callable[[], nn.Module],
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    cfg: Config,
    prepare: Callable[[Tensor], Tensor] | None = None,
) -> list[dict[str, Any]]:
    """`semi_supervised_eval` with `cfg.eval.few_labels` of the training labels, as rows:
    "pre-trained linear probe", "pre-trained + fine-tune" and "scratch" (the same
    architecture trained on those labels only), metric "accuracy@<share> labels"."""
    from contrastkit.evaluate.semi_supervised import semi_supervised_eval

    names = {"linear probe": "pre-trained linear probe", "fine-tune": "pre-trained + fine-tune"}

    def scratch() -> nn.Module:  # seeded: the same network whatever ran before
        torch.manual_seed(cfg.train.seed + 1)
        return make_scratch()

    found = semi_supervised_eval(
        encoder, scratch, train, test, fractions=cfg.eval.few_labels,
        steps=cfg.eval.fine_tune_steps, prepare=prepare, seed=cfg.train.seed,
    )  # fmt: skip
    return [
        {"system": names.get(r["protocol"], r["protocol"]),
         "metric": f"accuracy@{r['fraction']:g} labels", "value": r["accuracy"],
         "labels": r["labels"]}
        for r in found
    ]  # fmt: skip


def classification_scores(
    train: Tensor,
    train_labels: Tensor,
    test: Tensor,
    test_labels: Tensor,
    cfg: Config,
    standardize: bool = False,
) -> dict[str, float]:
    """Weighted kNN (cfg.eval.knn_k, knn_temperature) and, if cfg.eval.linear, a linear
    probe of frozen (N, D) features; `standardize` scales features by the train split's
    mean and std before kNN (for features whose dimensions have unrelated units).

    Returns:
        {"knn_top1": accuracy at eval.knn_k, "linear_top1": ..., ...} and the kNN accuracy
        at the other reported k (`knn_protocol.reported_ks`) as "knn_top1@K"; the probe's
        solve as "linear_probe.converged" (1/0), ".iterations", ".gradient_max", ".tolerance";
        with cfg.eval.retrieval, "map_at_r", "r_precision" and "precision_at_1" of the test
        split searched against itself (`retrieval_scores`).
    """
    from contrastkit.evaluate.knn_protocol import knn_accuracies, knn_metric, reported_ks
    from contrastkit.evaluate.linear import ProbeReport
    from contrastkit.evaluate.report import evaluate_features, rows_to_records

    if standardize:
        mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
        train, test = (train - mean) / std, (test - mean) / std
    k = min(cfg.eval.knn_k, len(train))
    row = evaluate_features(
        "", train, train_labels, test, test_labels, k=k,
        temperature=cfg.eval.knn_temperature, linear=cfg.eval.linear,
    )  # fmt: skip
    out = {r["metric"]: r["value"] for r in rows_to_records([row]) if "seconds" not in r["metric"]}
    if isinstance(row.linear, ProbeReport):  # how the probe's solve ended, for eval.json
        out.update(row.linear.solve_metrics())
    ks = [other for other in reported_ks(len(train), k) if other != k]
    if ks and len(test):  # the same vote at the peers' k (see knn_protocol)
        at_k = knn_accuracies(
            train, train_labels, test, test_labels, ks=ks, temperature=cfg.eval.knn_temperature
        )
        out.update({knn_metric(other): value for other, value in at_k.items()})
    if cfg.eval.retrieval and len(test) > 1:
        from contrastkit.evaluate.metric_retrieval import retrieval_scores

        out.update(retrieval_scores(test, test_labels))
    return out
