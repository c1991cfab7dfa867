"""benchmarks/matryoshka.py without training: the validation split comes from the training
pairs only, and the drop summary."""

from __future__ import annotations

import pytest

from benchmarks import matryoshka
from contrastkit.data.text import TextData
from contrastkit.modalities.text import TextPrepared


def _prepared(n: int) -> TextPrepared:
    train = TextData([f"a{i}" for i in range(n)], [f"p{i}" for i in range(n)], source="tiny")
    test = TextData(["ta", "tb"], ["tp", "tq"], source="tiny")
    out = TextPrepared("tiny", None, [], train, test, None)
    out.start = "the start"  # type: ignore[assignment]  # carried over as it is
    return out


def test_validation_pairs_are_training_pairs_held_out_of_training(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(matryoshka, "VALIDATION_SIZE", 10)
    data = _prepared(50)
    held = matryoshka.validation_data(data, seed=1)
    assert len(held.test) == 10 and len(held.train) == 40
    assert set(held.test.anchor).isdisjoint(held.train.anchor)
    assert set(held.test.anchor) | set(held.train.anchor) == set(data.train.anchor)
    assert not {"ta", "tb"} & (set(held.test.anchor) | set(held.train.anchor))
    pairs = dict(zip(data.train.anchor, data.train.positive, strict=True))
    assert all(pairs[a] == p for a, p in zip(held.test.anchor, held.test.positive, strict=True))
    assert held.start == "the start"
    assert matryoshka.validation_data(_prepared(50), seed=1).test.anchor == held.test.anchor
    assert matryoshka.validation_data(_prepared(50), seed=2).test.anchor != held.test.anchor


def test_drop_is_full_size_minus_quarter_size_per_seed() -> None:
    rows = [
        {"system": "s", "dim": d, "metric": "recall@1", "value": v, "seed": seed}
        for seed, values in enumerate([(0.80, 0.85, 0.90), (0.70, 0.74, 0.76)])
        for d, v in zip(matryoshka.DIMS, values, strict=True)
    ]
    drop = [r for r in matryoshka.summaries(rows) if r["metric"] == "drop"]
    assert len(drop) == 1 and drop[0]["value"] == pytest.approx((0.10 + 0.06) / 2)
    assert drop[0]["n"] == 2


def test_a_rotated_start_is_fitted_on_the_training_texts_of_the_split_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contrastkit.pipeline.settings import load_config

    seen: list[str] = []

    class Start:
        rotation = None

        def fit_pca_rotation(self, texts, *, precision):
            seen.extend(texts)
            self.rotation = "fitted"
            return self

    monkeypatch.setattr(matryoshka, "VALIDATION_SIZE", 10)
    data = _prepared(50)
    data.start = Start()  # type: ignore[assignment]
    held = matryoshka.validation_data(data, seed=0)
    cfg = load_config(matryoshka.RECIPE, matryoshka.SYSTEMS["Matryoshka PCA"])
    rotated = matryoshka.with_rotated_start(held, cfg)
    assert rotated.start.rotation == "fitted" and held.start.rotation is None  # a copy
    assert rotated.test is held.test and rotated.train is held.train
    assert set(seen) == set(held.train.anchor) | set(held.train.positive)  # 80 < 6,000
    assert not set(seen) & (set(held.test.anchor) | set(held.test.positive) | {"ta", "tp"})
