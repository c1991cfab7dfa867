"""benchmarks/methods.py without training: the validation split, the seed summaries and
--resume."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from benchmarks import methods
from contrastkit.data.dataset import ImageDataset
from contrastkit.modalities.image import ImageData
from tests.helpers.benchmark_fakes import NoImageData, refused_train


def _data(n: int) -> ImageData:
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).clone()
    pool = ImageDataset(images, torch.arange(n) % 3, [f"train/{i}" for i in range(n)])
    test = ImageDataset(images[:5].clone(), torch.zeros(5, dtype=torch.long), list("abcde"))
    return ImageData("tiny", pool.labels, [], pool, None, test, pool)


def test_validation_split_holds_out_training_images_and_never_the_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(methods, "VALIDATION_SIZE", 30)
    data = _data(200)
    train_data, bank, queries = methods.validation_split(data)
    assert len(queries) == 30 and len(bank) == 170
    assert set(bank.ids).isdisjoint(queries.ids)
    assert set(bank.ids) | set(queries.ids) == set(data.pool.ids)
    assert train_data.train is bank and train_data.test is None
    again = methods.validation_split(_data(200))[2]
    assert again.ids == queries.ids  # a fixed draw: every method is scored on the same images


def test_summaries_average_seeds_only() -> None:
    records = [
        {"system": "simclr (seed 0)", "metric": "knn_top1", "value": 0.80},
        {"system": "simclr (seed 1)", "metric": "knn_top1", "value": 0.84},
        {"system": "raw pixels", "metric": "knn_top1", "value": 0.7},
    ]
    (mean,) = methods.summaries(records)
    assert mean["system"] == "simclr (mean)" and mean["n"] == 2
    assert mean["value"] == pytest.approx(0.82) and mean["std"] == pytest.approx(0.02828, abs=1e-4)


def test_random_init_baselines_one_per_encoder() -> None:
    cnn = methods._recipe("simclr", 10, methods.ROOT / "runs" / "unused")
    recipes = {
        name: methods._recipe(name, 10, methods.ROOT / "runs" / "unused")
        for name in ("simclr", "byol", "vit_tiny", "dino_vit_tiny")
    }
    baselines = methods.random_init_baselines(cnn, recipes)
    labels = [label for label, _ in baselines]
    vit = recipes["vit_tiny"].model.backbone
    assert labels == [  # DINO's ViT embeds other sizes (backbone_args): its own baseline
        "random-init encoder",
        f"random-init encoder ({vit})",
        f"random-init encoder ({vit}, dino_vit_tiny)",
    ]
    assert baselines[0][1] is cnn and baselines[1][1] is recipes["vit_tiny"]
    alone = methods.random_init_baselines(cnn, {"dino_vit_tiny": recipes["dino_vit_tiny"]})
    assert alone[1] == (f"random-init encoder ({vit})", recipes["dino_vit_tiny"])
    assert methods.random_init_baselines(cnn, {}) == [("random-init encoder", cnn)]


def test_random_init_baselines_tell_other_settings_of_one_backbone_apart() -> None:
    cnn = methods._recipe("simclr", 10, methods.ROOT / "runs" / "unused")
    narrow = methods._recipe(
        "byol", 10, methods.ROOT / "runs" / "unused", {"model.widths": [16, 32, 64, 128]}
    )
    other_head = methods._recipe("moco", 10, methods.ROOT / "runs" / "unused")
    other_head.model.proj_dim = 7  # a head size does not make another encoder
    baselines = methods.random_init_baselines(cnn, {"moco": other_head, "byol": narrow})
    assert [label for label, _ in baselines] == [
        "random-init encoder",
        "random-init encoder (compact_cnn, byol)",
    ]
    assert baselines[1][1] is narrow


@pytest.mark.parametrize("resume", [False, True])
def test_resume_retrains_the_folder_an_unscored_row_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resume: bool
) -> None:
    """A stopped invocation leaves a run folder for a row it never scored; --resume trains
    it again (overwrite) instead of failing on "holds a run already"; without --resume
    nothing is replaced."""
    calls, fake_train = refused_train()
    monkeypatch.setattr(methods, "train", fake_train)
    monkeypatch.setattr(methods, "ImageModality", NoImageData)
    monkeypatch.setattr(methods, "evaluation_split", lambda data: (None, None))
    monkeypatch.setattr(methods, "previous_results", lambda name: None)
    monkeypatch.setattr(methods, "write_results", lambda *a, **k: tmp_path / "out.json")
    argv = ["methods", "--methods", "simclr", "--seeds", "1", "--no-baselines",
            "--run-root", str(tmp_path / "runs"), "--output", "unused"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv + (["--resume"] if resume else []))
    methods.main()
    assert [c["overwrite"] for c in calls] == [resume]


def _source(split: str = "test") -> dict:
    rows = [
        {"system": "raw pixels", "metric": "knn_top1", "value": 0.79},
        {"system": "random-init encoder", "metric": "knn_top1", "value": 0.80},
        {"system": "random-init encoder (vit_tiny) (seed 0)", "metric": "knn_top1",
         "value": 0.55, "copied_from": "older"},
        {"system": "random-init encoder (mean)", "metric": "knn_top1", "value": 0.8, "std": 0},
        {"system": "simclr", "metric": "knn_top1", "value": 0.86},
    ]  # fmt: skip
    return {"split": split, "rows": rows, "overrides": ["method.temperature=0.2"]}


def test_copied_baselines_are_the_baseline_rows_marked_with_their_origin() -> None:
    one = methods.copied_baselines(_source(), "table", "test", [0], [])
    assert [r["system"] for r in one] == ["raw pixels", "random-init encoder"]
    assert [r["copied_from"] for r in one] == ["table", "table"]
    several = methods.copied_baselines(_source(), "table", "test", [0, 1], ["method.t=2"])
    assert [r["system"] for r in several] == [
        "raw pixels", "random-init encoder (vit_tiny) (seed 0)"
    ]  # fmt: skip  # seeds 0-1: the untagged one-seed row is not this run's
    assert several[1]["copied_from"] == "older"  # a copy of a copy keeps its origin
    assert len(methods.copied_baselines(_source(), "table", "test", [1, 2], [])) == 1
    with pytest.raises(ValueError, match="validation split, this run on the test split"):
        methods.copied_baselines(_source("validation"), "table", "test", [0], [])
    with pytest.raises(ValueError, match=r"with --set \[\], this run with \['model"):
        methods.copied_baselines(_source(), "table", "test", [0], ["model.widths=[8]"])
    no_rows = {"split": "test", "rows": _source()["rows"][-1:]}
    with pytest.raises(ValueError, match="no raw-pixel or random-init rows"):
        methods.copied_baselines(no_rows, "t", "test", [0], [])


def test_baselines_from_a_file_are_not_measured_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NoImageData cannot build an encoder: measuring a random-init row would fail here."""
    _, fake_train = refused_train()
    written: list[tuple[list, dict]] = []
    monkeypatch.setattr(methods, "train", fake_train)
    monkeypatch.setattr(methods, "ImageModality", NoImageData)
    monkeypatch.setattr(methods, "evaluation_split", lambda data: (None, None))
    monkeypatch.setattr(methods, "previous_results", {"table": _source()}.get)
    monkeypatch.setattr(
        methods, "write_results", lambda name, rows, **k: written.append((rows, k)) or tmp_path
    )
    argv = ["methods", "--methods", "simclr", "--run-root", str(tmp_path / "runs"),
            "--output", "new", "--baselines-from", "table"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    methods.main()
    rows, keys = written[-1]
    assert keys["baselines_from"] == "table"
    assert {r["system"] for r in rows if r.get("copied_from") == "table"} == {
        "raw pixels", "random-init encoder"
    }  # fmt: skip
    monkeypatch.setattr(sys, "argv", [*argv[:-1], "missing"])
    with pytest.raises(SystemExit):
        methods.main()
