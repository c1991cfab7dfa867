from __future__ import annotations

import numpy as np
import torch

from contrastkit.evaluate import (
    ClassificationReport,
    EvalRow,
    evaluate_features,
    format_table,
    print_table,
    rows_to_records,
)


def report() -> ClassificationReport:
    return ClassificationReport(
        accuracy=0.9234,
        macro_precision=0.91,
        macro_recall=0.9,
        macro_f1=0.905,
        confusion=np.eye(2, dtype=np.int64),
    )


def rows() -> list[EvalRow]:
    return [
        EvalRow("simclr", 0.8771, report(), {"epochs": 10}, knn_k=200, knn_temperature=0.1),
        EvalRow("raw pixels", 0.5, None, knn_k=200, knn_temperature=0.1),
    ]


def test_format_table():
    expected = (
        "system     | kNN acc (k=200, t=0.1) | linear acc | macro P | macro R | macro F1\n"
        "-----------+------------------------+------------+---------+---------+---------\n"
        "simclr     |                  0.877 |      0.923 |   0.910 |   0.900 |    0.905\n"
        "raw pixels |                  0.500 |          - |       - |       - |        -"
    )
    assert format_table(rows()) == expected


def test_format_table_mixed_knn_settings():
    table = format_table([*rows(), EvalRow("other", 0.25, knn_k=20, knn_temperature=0.07)])
    lines = table.splitlines()
    assert lines[0].split(" | ")[1].strip() == "kNN acc"
    assert "0.250 (k=20, t=0.07)" in lines[4]
    assert "0.877 (k=200, t=0.1)" in lines[2]


def test_rows_to_records():
    records = rows_to_records(rows())
    assert records[0] == {
        "system": "simclr",
        "metric": "knn_top1",
        "value": 0.8771,
        "k": 200,
        "temperature": 0.1,
    }
    simclr = {r["metric"]: r["value"] for r in records if r["system"] == "simclr"}
    assert simclr == {
        "knn_top1": 0.8771,
        "linear_top1": 0.9234,
        "linear_macro_precision": 0.91,
        "linear_macro_recall": 0.9,
        "linear_macro_f1": 0.905,
        "epochs": 10.0,
    }
    assert [r["metric"] for r in records if r["system"] == "raw pixels"] == ["knn_top1"]


def test_evaluate_features_end_to_end(capsys):
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 16, generator=g) * 4
    y = torch.randint(0, 3, (300,), generator=g)
    x = centres[y] + torch.randn(300, 16, generator=g)
    row = evaluate_features("blobs", x[:200], y[:200], x[200:], y[200:], k=20, temperature=0.07)
    assert row.knn_accuracy == 1.0 and row.linear is not None and row.linear.accuracy == 1.0
    assert row.knn_k == 20 and row.knn_temperature == 0.07
    assert set(row.extra) == {"knn_seconds", "linear_seconds"}
    only_knn = evaluate_features("blobs", x[:200], y[:200], x[200:], y[200:], linear=False)
    assert only_knn.linear is None and only_knn.knn_k == 200
    print_table([row, only_knn], title="eval")
    assert "blobs" in capsys.readouterr().out
