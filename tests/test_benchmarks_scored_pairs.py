"""benchmarks/scored_pairs.py without training: the unseen-word pairs, the validation split
(drawn from the training pairs only) and the epochs chosen from validation results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import scored_pairs as sp
from contrastkit.data.text import TextData
from contrastkit.modalities.text import TextPrepared


def test_unseen_word_pairs_have_a_word_no_training_pair_has() -> None:
    train = TextData(["cup", "car"], ["mug", "bus"], score=[9.0, 3.0])
    test = TextData(["cup", "mug", "tea", "sun"], ["car", "tea", "cup", "moon"], score=[1.0] * 4)
    assert sp.unseen_word_pairs(train, test) == [1, 2, 3]


def test_validation_pairs_come_from_the_training_pairs() -> None:
    train = TextData([f"a{i}" for i in range(50)], [f"b{i}" for i in range(50)],
                     score=[float(i % 10) for i in range(50)])  # fmt: skip
    test = TextData(["t"], ["u"], score=[1.0])
    held = sp.validation_data(TextPrepared("x", None, [], train, test, None), 0, size=10)
    assert len(held.test) == 10 and len(held.train) == 40
    assert set(held.test.anchor) | set(held.train.anchor) == set(train.anchor)
    assert "t" not in held.test.anchor


def _results(path: Path, rows: list[dict], split: str = "validation") -> None:
    path.write_text(json.dumps({"split": split, "rows": rows}))


def test_epochs_are_the_best_mean_validation_spearman(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sp, "RESULTS", tmp_path)
    row = {"dataset": "simlex-999", "system": "CoSENT", "method": "cosent", "metric": "spearman"}
    _results(tmp_path / "a.json", [
        {**row, "epochs": 5, "value": 0.45}, {**row, "epochs": 60, "value": 0.64},
        {**row, "epochs": 60, "value": 0.99, "seed": 0},  # a single seed is not the mean
        {**row, "system": sp.PRETRAINED, "method": None, "epochs": None, "value": 0.9},
    ])  # fmt: skip
    _results(tmp_path / "b.json", [{**row, "epochs": 120, "value": 0.66}])
    assert sp.chosen_epochs("a") == {("simlex-999", "cosent"): 60}
    assert sp.chosen_epochs("a,b") == {("simlex-999", "cosent"): 120}
    _results(tmp_path / "c.json", [], split="test")
    with pytest.raises(SystemExit, match="not a --validation"):
        sp.chosen_epochs("a,c")
