"""Settings a modality cannot honour are refused when the config is read, with one sentence
naming the key; named datasets are read under any spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrastkit.errors import ConfigError
from contrastkit.modalities.text import TextModality
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train

REFUSED = [
    ({"data.dataset": "churn", "data.test_size": 100}, "data.test_size"),
    ({"data.dataset": "debian-graph", "data.test_size": 0.3}, "data.link_fraction"),
    ({"data.dataset": "instrument-notes", "data.test_size": 0.3}, "test pitches"),
    ({"data.dataset": "fashion-mnist", "data.test_size": 0.3}, "its own test split"),
    ({"data.dataset": "emoji", "data.test_size": 50}, "share below 1"),
    ({"data.dataset": "movielens", "data.test_size": 5}, "share below 1"),
    ({"data.dataset": "wordnet", "eval.few_labels": [0.1]}, "eval.few_labels"),
    ({"data.dataset": "emoji", "model.proj_dim": 0}, "model.proj_dim"),
    ({"data.dataset": "emoji", "model.text_model": "scratch", "method.lock_text": True},
     "method.lock_text"),
    ({"data.dataset": "wordnet", "model.name": "scratch", "model.heads": 3}, "model.heads"),
    ({"data.dataset": "emoji", "model.text_model": "scratch", "model.text_dim": 100},
     "model.text_dim"),
    ({"data.dataset": "digits", "eval.few_labels": [0.0]}, "eval.few_labels"),
    ({"data.dataset": "emoji", "method.temperature": 0.005}, "method.temperature"),
]  # fmt: skip


@pytest.mark.parametrize(("settings", "named"), REFUSED, ids=[str(i) for i in range(len(REFUSED))])
def test_a_setting_the_modality_cannot_honour_is_refused(settings: dict, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, {**settings, "train.steps": 1})
    assert named in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("given", "name"),
    [("MovieLens", "movielens"), ("debian_graph", "debian-graph"), ("fmnist", "fashion-mnist"),
     ("Instrument_Notes", "instrument-notes"), ("BREAST_CANCER", "breast-cancer")],
)  # fmt: skip
def test_named_datasets_are_read_under_any_spelling(given: str, name: str) -> None:
    assert load_config(None, {"data.dataset": given, "train.steps": 1}).data.dataset == name


def _labelled_pairs(path: Path) -> Path:
    rows = ["anchor,positive,label"] + [
        f"a text {i},its partner {i},{'ab'[i % 2]}" for i in range(40)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_single_texts_of_labelled_pairs_keep_their_labels(tmp_path: Path) -> None:
    settings = {"data.dataset": str(_labelled_pairs(tmp_path / "p.csv")), "views.pairs": False,
                "model.name": "scratch", "model.dim": 32, "model.layers": 1,
                "data.test_size": 10, "train.steps": 1}  # fmt: skip
    cfg = load_config(None, settings)
    data = TextModality().prepare(cfg, None)
    assert data.train.positive is None and len(data.train) == 60  # 30 pairs, both sides
    assert data.train.label[:30] == data.train.label[30:] and len(data.labels) == 60
    assert len(data.test) == 10 and data.test.positive is not None
    baseline = dict(TextModality().baselines(cfg, data))["random-init encoder"]
    assert baseline is data.start  # from scratch, the run's own seeded start


def test_a_new_run_refuses_a_folder_that_holds_one(tmp_path: Path) -> None:
    settings = {"data.dataset": "wine", "train.steps": 1, "train.batch_size": 16,
                "train.run_dir": str(tmp_path / "run")}  # fmt: skip
    train(load_config(None, settings), progress=False)
    with pytest.raises(ConfigError, match="holds a run already: continue it with --resume"):
        train(load_config(None, settings), progress=False)
