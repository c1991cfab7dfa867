"""`contrastkit train --dataset FOLDER` without a recipe: the data-aware choices are printed
with their reasons, written to config.yaml, and eval.json reports kNN at several k."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from typer.testing import CliRunner

from contrastkit.cli import app

runner = CliRunner()


def _grey_folder_saved_as_rgb(root: Path, per_class: int = 40) -> None:
    """Two classes of 14x14 grey images stored as RGB PNGs: a bright left or right half."""
    rng = np.random.default_rng(0)
    for label, name in enumerate(("left", "right")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 60, (14, 14), dtype=np.uint8)
            pixels[:, 7 * label : 7 * label + 7] += 150
            Image.fromarray(pixels).convert("RGB").save(root / name / f"{i:02d}.png")


def test_train_on_a_folder_prints_the_choices_and_writes_them_to_config(tmp_path: Path) -> None:
    folder, run = tmp_path / "glyphs", tmp_path / "run"
    _grey_folder_saved_as_rgb(folder)
    result = runner.invoke(app, ["train", "--dataset", str(folder), "--steps", "3", "--threads",
                                 "1", "-o", str(run), "--no-progress", "--no-report"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "no recipe given; chosen from the data" in out
    for line in ("data.channels=1: the images are stored as RGB",
                 "views.flip_p=0: grayscale images up to 64 px are glyph-like",
                 "views.blur_p=0:", "eval.knn_k=16:", "data.holdout=0:"):  # fmt: skip
        assert line in out, line
    assert "train.max_time" not in out  # --steps is the budget the user gave

    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["views"]["flip_p"] == 0.0 and saved["views"]["hue"] == 0.0
    assert saved["views"]["crop_scale"] == [0.5, 1.0]  # 14 px: whole strokes stay in view
    assert saved["data"]["channels"] == 1 and saved["data"]["holdout"] == 0
    assert saved["eval"]["knn_k"] == 16  # 64 training items in 2 classes
    assert saved["train"]["steps"] == 3 and saved["train"]["max_time"] is None
    shown = yaml.safe_load(runner.invoke(app, ["config", str(run)]).output)
    assert shown["views"]["flip_p"] == 0.0 and shown["eval"]["knn_k"] == 16

    report = json.loads((run / "eval.json").read_text())
    assert "k=16" in report["knn_protocol"] and "knn_top1: weighted kNN" in out
    at_k = {(r["system"], r["k"]): r["value"] for r in report["knn_at_k"]}
    assert {k for _, k in at_k} == {1, 5, 16, 20}  # 200 exceeds the bank of 64
    rows = {(r["system"], r["metric"]): r["value"] for r in report["rows"]}
    for system in ("contrastkit simclr", "raw pixels"):
        assert at_k[(system, 16)] == rows[(system, "knn_top1")]
    assert not any("@" in r["metric"] for r in report["rows"])  # the table: the default k
    solves = {r["system"]: r for r in report["linear_probe"]}  # how each probe's solve ended
    assert set(solves) == {"contrastkit simclr", "raw pixels", "random-init encoder"}
    for solve in solves.values():
        assert solve["converged"] is True and solve["iterations"] >= 1
        assert solve["gradient_max"] <= solve["tolerance"] == 1e-5
    assert not any(r["metric"].startswith("linear_probe.") for r in report["rows"])


def test_set_and_flags_win_over_the_data(tmp_path: Path) -> None:
    folder = tmp_path / "glyphs"
    _grey_folder_saved_as_rgb(folder, per_class=10)
    sets = ["views.flip_p=0.5", "train.max_time=1m", "eval.knn_k=3"]
    args = ["config", "--dataset", str(folder), *(a for s in sets for a in ("--set", s))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    assert shown["views"]["flip_p"] == 0.5 and shown["eval"]["knn_k"] == 3
    assert shown["train"]["max_time"] == 60 and shown["train"]["epochs"] is None
    assert shown["views"]["hue"] == 0.0  # the choices the user left to the data stay
