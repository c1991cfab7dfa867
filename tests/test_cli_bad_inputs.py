"""User mistakes, table-driven: every bad config key, value, file and data folder stops
`contrastkit train` before any work with one clear sentence and exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from contrastkit.cli import main


def _png(path: Path, size: int = 8, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def _classes(root: Path, counts: dict[str, int]) -> Path:
    for name, n in counts.items():
        for i in range(n):
            _png(root / name / f"{i}.png", seed=i)
    return root


def _empty(tmp: Path) -> list[str]:
    (tmp / "empty").mkdir()
    return ["--dataset", str(tmp / "empty")]


def _a_file(tmp: Path) -> list[str]:
    _png(tmp / "one.png")
    return ["--dataset", str(tmp / "one.png")]


def _mixed_sizes(tmp: Path) -> list[str]:
    _png(tmp / "d" / "a.png", 8)
    _png(tmp / "d" / "b.png", 12)
    return ["--dataset", str(tmp / "d")]


def _loose_and_classes(tmp: Path) -> list[str]:
    _classes(tmp / "d", {"cats": 3})
    _png(tmp / "d" / "stray.png")
    return ["--dataset", str(tmp / "d")]


def _one_item_class(tmp: Path) -> list[str]:
    return ["--dataset", str(_classes(tmp / "d", {"cats": 4, "dogs": 1}))]


def _all_corrupt(tmp: Path) -> list[str]:
    (tmp / "d").mkdir()
    for i in range(3):
        (tmp / "d" / f"{i}.png").write_bytes(b"not a png at all")
    return ["--dataset", str(tmp / "d")]


def _labels_needed(tmp: Path) -> list[str]:
    for i in range(4):
        _png(tmp / "flat" / f"{i}.png", seed=i)
    return ["--dataset", str(tmp / "flat"), "--method", "supcon"]


def _missing_yaml(tmp: Path) -> list[str]:
    return ["--config", str(tmp / "nope.yaml")]


def _bad_yaml(tmp: Path) -> list[str]:
    (tmp / "bad.yaml").write_text("optim: {lr: [0.1\n")
    return ["--config", str(tmp / "bad.yaml")]


def _unknown_yaml_key(tmp: Path) -> list[str]:
    (tmp / "k.yaml").write_text("train:\n  stepz: 5\n")
    return ["--config", str(tmp / "k.yaml")]


def _not_a_run(tmp: Path) -> list[str]:
    (tmp / "r").mkdir()
    return ["--resume", str(tmp / "r")]


def _sets(*pairs: str) -> Callable[[Path], list[str]]:
    return lambda tmp: [a for p in pairs for a in ("--set", p)]


CASES: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("negative lr", _sets("optim.lr=-1"), "optim.lr"),
    ("unknown key", _sets("optim.lrr=0.1"), "optim.lrr"),
    ("unknown section", _sets("optimiser.lr=0.1"), "optimiser"),
    ("batch of one", _sets("train.batch_size=1"), "train.batch_size"),
    ("batch not a number", _sets("train.batch_size=lots"), "train.batch_size"),
    ("unknown method", _sets("method.name=simclrr"), "simclrr"),
    ("unknown precision", _sets("train.precision=fp8"), "train.precision"),
    ("unknown backbone", _sets("model.backbone=vgg16"), "model.backbone"),
    ("bad duration", _sets("train.max_time=soon"), "train.max_time"),
    ("zero temperature", _sets("method.temperature=0"), "temperature"),
    ("unknown optimiser", _sets("optim.optimizer=rmsprop"), "optim.optimizer"),
    ("two channels", _sets("data.channels=2"), "data.channels"),
    ("no bad steps allowed", _sets("train.max_bad_steps=0"), "train.max_bad_steps"),
    ("kNN k of zero", _sets("eval.knn_k=0"), "eval.knn_k"),
    ("momentum of one", _sets("optim.momentum=1.0"), "optim.momentum"),
    ("zero steps", _sets("train.steps=0"), "train.steps"),
    ("zero width", _sets("model.widths=[0, 8]"), "model.widths"),
    ("crop scale reversed", _sets("views.crop_scale=[1.0, 0.2]"), "views.crop_scale"),
    ("unknown method option", _sets("method.temperatur=0.2"), "temperatur"),
    ("no such dataset", lambda t: ["--dataset", "no-such-data"], "no-such-data"),
    ("missing folder", lambda t: ["--dataset", str(t / "nowhere")], "no file or folder at"),
    ("empty folder", _empty, "no image files"),
    ("file, not folder", _a_file, "not a folder"),
    ("mixed image sizes", _mixed_sizes, "image_size"),
    ("loose files beside classes", _loose_and_classes, "mixes"),
    ("class with one image", _one_item_class, "dogs"),
    ("only corrupt images", _all_corrupt, "could be read"),
    ("supervised method, no labels", _labels_needed, "uses labels"),
    ("missing recipe", _missing_yaml, "nope.yaml"),
    ("broken YAML", _bad_yaml, "not valid YAML (line 2"),
    ("unknown key in recipe", _unknown_yaml_key, "stepz"),
    ("resume a folder that is no run", _not_a_run, str(Path("r"))),
]


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_clear_sentence(
    tmp_path: Path, monkeypatch, capsys, make, expected: str
) -> None:
    args = make(tmp_path)
    run_dir = tmp_path / "run"
    argv = ["contrastkit", "train", *args, "--steps", "3", "--batch-size", "4",
            "--no-progress", "--no-evaluate"]  # fmt: skip
    if "--resume" not in args:
        argv += ["--run-dir", str(run_dir)]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert err.startswith("error: ") and expected in err
    assert "Traceback" not in err and err.count("\n") == 1  # one line
    assert not run_dir.exists()  # rejected before any work


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20
