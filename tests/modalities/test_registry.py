"""What `--dataset` means: a named dataset picks its modality; a path is recognised by what
it holds; `--modality` (data.modality) says it explicitly; the choice is recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from contrastkit.errors import ConfigError, DatasetNotFoundError
from contrastkit.modalities.registry import MODALITIES, detect_modality, named_dataset_modality
from contrastkit.pipeline.settings import load_config
from tests.audio.conftest import write_tone
from tests.data.helpers import hf_image_dataset, write_shards

NAMED = {
    "fashion-mnist": "image", "digits": "image", "debian-descriptions": "text",
    "wordnet": "text", "instrument-notes": "audio", "debian-graph": "graph",
    "credit": "table", "churn": "table", "hpc": "table", "breast-cancer": "table",
    "wine": "table", "emoji": "image-text", "movielens": "interactions",
    "font-letters": "image", "tux-stamps": "image", "twemoji": "image", "mate-icons": "image",
    "simlex-999": "text", "wordsim-353": "text",
}  # fmt: skip


@pytest.mark.parametrize(("name", "modality"), NAMED.items())
def test_named_datasets_pick_their_modality(name: str, modality: str) -> None:
    assert named_dataset_modality(name) == modality
    assert named_dataset_modality(name.upper().replace("-", "_")) == modality
    assert load_config(None, {"data.dataset": name, "train.steps": 1}).data.modality == modality


def test_every_named_dataset_is_in_the_table() -> None:
    assert {n for m in MODALITIES.values() for n in m.datasets} == set(NAMED)


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _images(root: Path) -> str:
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        pixels = np.zeros((8, 8), dtype=np.uint8)
        Image.fromarray(pixels).save(root / label / "0.png")
    return str(root)


def _clips(root: Path) -> str:
    write_tone(root / "low" / "0.wav", 220)
    return str(root)


def _graph(root: Path) -> str:
    root.mkdir()
    (root / "nodes.csv").write_text("id,label\na,x\nb,y\n")
    (root / "edges.csv").write_text("source,target\na,b\n")
    return str(root)


def _shards(root: Path) -> str:
    images, labels = np.zeros((4, 8, 8), dtype=np.uint8), np.arange(4)
    return str(write_shards(root, images, labels, per_shard=2))


def _hf(root: Path, column: str) -> str:
    import datasets

    if column == "image":
        hf_image_dataset(np.zeros((2, 8, 8), dtype=np.uint8), None).save_to_disk(str(root))
    else:
        datasets.Dataset.from_dict({"sentence": ["a", "b"]}).save_to_disk(str(root))
    return str(root)


PATHS = [
    ("image folder", _images, "image"),
    ("tar shards", _shards, "image"),
    ("shard pattern", lambda t: _shards(t) + "/train-{000000..000001}.tar", "image"),
    ("hf images", lambda t: _hf(t / "hf", "image"), "image"),
    ("hf texts", lambda t: _hf(t / "hf", "text"), "text"),
    ("audio folder", _clips, "audio"),
    ("graph folder", _graph, "graph"),
    ("text lines", lambda t: _write(t / "s.txt", "a sentence\nanother\n"), "text"),
    ("text jsonl", lambda t: _write(t / "s.jsonl", '{"text": "a"}\n'), "text"),
    ("text pairs", lambda t: _write(t / "p.csv", "query,document\na,b\n"), "text"),
    ("captions", lambda t: _write(t / "c.csv", "image,caption\nx.png,a cat\n"), "image-text"),
    ("interactions", lambda t: _write(t / "r.csv", "user,item,time\n1,a,3\n"), "interactions"),
    ("table", lambda t: _write(t / "t.csv", "age,income,y\n1,2,a\n"), "table"),
]


@pytest.mark.parametrize(("what", "make", "modality"), PATHS, ids=[p[0] for p in PATHS])
def test_paths_are_recognised_by_what_they_hold(tmp_path, what, make, modality) -> None:
    path = make(tmp_path / "data" if what.endswith("folder") else tmp_path)
    assert detect_modality(path) == modality


def test_modality_can_be_given_and_is_checked(tmp_path: Path) -> None:
    table = _write(tmp_path / "t.csv", "text,y\nhello,a\n")  # looks like texts
    assert detect_modality(table) == "text"
    cfg = load_config(None, {"data.dataset": table, "data.modality": "table", "train.steps": 1})
    assert cfg.data.modality == "table"
    with pytest.raises(ConfigError, match="unknown modality 'video'"):
        load_config(None, {"data.dataset": table, "data.modality": "video", "train.steps": 1})


def test_a_path_that_does_not_exist_names_the_known_datasets(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"movielens.*no file or folder"):
        detect_modality(str(tmp_path / "nothing"))
    with pytest.raises(ConfigError, match="set --modality"):
        detect_modality(_write(tmp_path / "x.bin", "?"))
