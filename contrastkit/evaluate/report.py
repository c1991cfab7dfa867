"""One evaluation row per system: kNN and linear-probe scores, as a table or flat records."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from contrastkit.evaluate.knn import knn_predict
from contrastkit.evaluate.linear import ClassificationReport, classification_report, linear_probe


@dataclass
class EvalRow:
    """Frozen-embedding scores of one system (a trained encoder, a baseline, a peer library).

    Attributes:
        system: name shown in tables and records.
        knn_accuracy: weighted-kNN top-1 accuracy in [0, 1], or None if not run.
        linear: linear-probe report, or None if not run.
        extra: further numbers or notes (timings, epochs); numeric ones become records.
        knn_k: the k used for `knn_accuracy`.
        knn_temperature: the temperature used for `knn_accuracy`.
    """

    system: str
    knn_accuracy: float | None = None
    linear: ClassificationReport | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    knn_k: int | None = None
    knn_temperature: float | None = None


def evaluate_features(
    name: str,
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    test_feats: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    k: int = 200,
    temperature: float = 0.1,
    linear: bool = True,
    num_classes: int | None = None,
) -> EvalRow:
    """Score frozen embeddings with weighted kNN and, optionally, a linear probe.

    Args:
        name: the system's name for the row.
        train_feats: (N, D) training embeddings (kNN bank and probe training set).
        train_labels: (N,) int classes.
        test_feats: (M, D) test embeddings.
        test_labels: (M,) int classes.
        k: kNN neighbours (see `knn_predict`).
        temperature: kNN weighting temperature.
        linear: also fit a linear probe (see `linear_probe`).
        num_classes: default max over both label sets + 1.

    Returns:
        The row; `extra` holds "knn_seconds" and "linear_seconds" wall times.
    """
    if num_classes is None:
        num_classes = 1 + max(int(train_labels.max()), int(test_labels.max()))
    start = time.perf_counter()
    predictions = knn_predict(
        train_feats, train_labels, test_feats, k=k, temperature=temperature, num_classes=num_classes
    )
    knn = classification_report(test_labels, predictions, num_classes)
    extra: dict[str, Any] = {"knn_seconds": time.perf_counter() - start}
    report = None
    if linear:
        start = time.perf_counter()
        report = linear_probe(
            train_feats, train_labels, test_feats, test_labels, num_classes=num_classes
        )
        extra["linear_seconds"] = time.perf_counter() - start
    return EvalRow(
        system=name,
        knn_accuracy=knn.accuracy,
        linear=report,
        extra=extra,
        knn_k=k,
        knn_temperature=temperature,
    )


def _score(value: float | None) -> str:
    """A score as every table prints it: a fraction with three decimals ("-" if missing)."""
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def _knn_setting(row: EvalRow) -> str:
    return f"k={row.knn_k}, t={row.knn_temperature:g}" if row.knn_k is not None else ""


def _cells(rows: Sequence[EvalRow]) -> tuple[list[str], list[list[str]]]:
    """Header and body cells shared by `format_table` and `print_table`."""
    settings = {_knn_setting(row) for row in rows if row.knn_accuracy is not None}
    shared = len(settings) == 1 and "" not in settings
    knn_header = f"kNN acc ({settings.pop()})" if shared else "kNN acc"
    header = ["system", knn_header, "linear acc", "macro P", "macro R", "macro F1"]
    body = []
    for row in rows:
        knn = _score(row.knn_accuracy)
        if not shared and row.knn_accuracy is not None and row.knn_k is not None:
            knn = f"{knn} ({_knn_setting(row)})"
        lin = row.linear
        body.append(
            [row.system, knn]
            + [
                _score(None if lin is None else getattr(lin, metric))
                for metric in ("accuracy", "macro_precision", "macro_recall", "macro_f1")
            ]
        )
    return header, body


def format_table(rows: Sequence[EvalRow]) -> str:
    """A plain fixed-width text table of the rows, scores as fractions with three decimals.

    The kNN setting (k, temperature) is shown in the header when all rows share it, else
    beside each score. Missing scores print as "-".

    Example:
        >>> print(format_table([EvalRow("raw pixels", knn_accuracy=0.9712, knn_k=200,
        ...                             knn_temperature=0.1)]))  # doctest: +NORMALIZE_WHITESPACE
        system     | kNN acc (k=200, t=0.1) | linear acc | macro P | macro R | macro F1
        -----------+------------------------+------------+---------+---------+---------
        raw pixels |                  0.971 |          - |       - |       - |        -
    """
    header, body = _cells(rows)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return " | ".join([first, *rest]).rstrip()

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def print_table(rows: Sequence[EvalRow], title: str | None = None) -> None:
    """Print the rows as a rich table on the terminal (same cells as `format_table`)."""
    from rich.console import Console
    from rich.table import Table

    header, body = _cells(rows)
    table = Table(title=title)
    table.add_column(header[0])
    for name in header[1:]:
        table.add_column(name, justify="right")
    for cells in body:
        table.add_row(*cells)
    Console().print(table)


def rows_to_records(rows: Sequence[EvalRow]) -> list[dict[str, Any]]:
    """Flat records `{"system", "metric", "value"}` for benchmark JSON; scores as fractions.

    Metrics: "knn_top1" (records also carry "k" and "temperature"), "linear_top1",
    "linear_macro_precision", "linear_macro_recall", "linear_macro_f1", and every numeric
    entry of `extra` under its own key. Scores that were not run are left out.
    """
    records: list[dict[str, Any]] = []
    for row in rows:
        if row.knn_accuracy is not None:
            records.append(
                {
                    "system": row.system,
                    "metric": "knn_top1",
                    "value": float(row.knn_accuracy),
                    "k": row.knn_k,
                    "temperature": row.knn_temperature,
                }
            )
        if row.linear is not None:
            for metric, value in (
                ("linear_top1", row.linear.accuracy),
                ("linear_macro_precision", row.linear.macro_precision),
                ("linear_macro_recall", row.linear.macro_recall),
                ("linear_macro_f1", row.linear.macro_f1),
            ):
                records.append({"system": row.system, "metric": metric, "value": float(value)})
        for key, value in row.extra.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                records.append({"system": row.system, "metric": key, "value": float(value)})
    return records


def format_records(records: Sequence[dict[str, Any]], digits: int = 3) -> str:
    """Records {"system", "metric", "value"} as a fixed-width table: one row per system, one
    column per metric (in first-seen order), values with `digits` decimals, "-" if absent.

    Example:
        >>> print(format_records([{"system": "raw", "metric": "knn_top1", "value": 0.5}]))
        system | knn_top1
        -------+---------
        raw    |    0.500
    """
    systems = list(dict.fromkeys(r["system"] for r in records))
    metrics = list(dict.fromkeys(r["metric"] for r in records))
    values = {(r["system"], r["metric"]): r["value"] for r in records}

    def cell(value: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return "-" if math.isnan(value) else f"{value:.{digits}f}"
        return "-" if value is None else str(value)

    body = [[s, *(cell(values.get((s, m))) for m in metrics)] for s in systems]
    header = ["system", *metrics]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return " | ".join([cells[0].ljust(widths[0]), *rest]).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])
