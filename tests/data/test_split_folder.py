"""A folder whose only subfolders are train/ and test/ (each with one subfolder per class):
a fixed split that training keeps, in memory and streamed."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrastkit.data import load_dataset
from contrastkit.data.folder import load_image_folder
from contrastkit.data.folder_stream import decoded_bytes, stream_image_folder
from contrastkit.data.registry import has_test_split
from contrastkit.errors import ConfigError, DataFormatError
from contrastkit.modalities.image import ImageModality
from contrastkit.pipeline.settings import load_config
from tests.data.helpers import write_image


def _split_folder(root: Path, n_train: int = 6, n_test: int = 3) -> Path:
    for split, n in (("train", n_train), ("test", n_test)):
        for label, value in (("cat", 30), ("dog", 200)):
            for i in range(n):
                write_image(root / split / label / f"{i}.png", size=(8, 8), value=value + i)
    return root


def test_train_and_test_subfolders_are_the_splits(tmp_path: Path) -> None:
    root = _split_folder(tmp_path / "pets")
    assert has_test_split(str(root)) and not has_test_split(str(root / "train"))
    train, test = load_dataset(str(root), "train"), load_dataset(str(root), "test")
    assert (len(train), len(test)) == (12, 6)
    assert train.classes == test.classes == ["cat", "dog"]
    assert train.name == test.name == "pets"
    assert test.ids[0] == "cat/0.png" and test.labels.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ConfigError, match="train or test"):
        load_dataset(str(root), "all")


def test_the_folder_readers_read_the_training_part(tmp_path: Path) -> None:
    root = _split_folder(tmp_path / "pets")
    train = load_dataset(str(root), "train")
    whole = load_image_folder(root)
    streamed = stream_image_folder(root)
    for data in (whole, streamed):
        assert data.ids == train.ids and data.classes == ["cat", "dog"] and data.name == "pets"
        assert data.labels.tolist() == train.labels.tolist()
    assert decoded_bytes(root, None, None) == 12 * 8 * 8


def test_other_class_folders_in_test_are_an_error(tmp_path: Path) -> None:
    root = _split_folder(tmp_path / "pets")
    write_image(root / "test" / "bird" / "0.png", size=(8, 8))
    with pytest.raises(DataFormatError, match="only in test: bird"):
        load_dataset(str(root), "train")
    (root / "test" / "bird" / "0.png").unlink()  # an empty class folder in test/ only
    for i in range(2):
        write_image(root / "train" / "bird" / f"{i}.png", size=(8, 8))
    with pytest.raises(DataFormatError, match="without images: bird"):
        load_dataset(str(root), "test")


def test_a_folder_with_a_third_subfolder_is_a_class_folder(tmp_path: Path) -> None:
    root = _split_folder(tmp_path / "pets")
    for i in range(2):
        write_image(root / "val" / f"{i}.png", size=(8, 8))
    assert not has_test_split(str(root))
    assert load_dataset(str(root)).classes == ["test", "train", "val"]


@pytest.mark.parametrize("max_memory", ["4GB", "0"])
def test_training_keeps_the_fixed_split(tmp_path: Path, max_memory: str) -> None:
    root = _split_folder(tmp_path / "pets", n_train=10, n_test=4)
    overrides = {"data.dataset": str(root), "data.max_memory": max_memory, "data.holdout": 4,
                 "train.steps": 1}  # fmt: skip
    data = ImageModality().prepare(load_config(None, overrides), None)
    assert len(data.pool) == 20 and len(data.test) == 8  # no share of train/ held out
    assert data.pool.classes == data.test.classes == ["cat", "dog"]
    assert sorted(data.test.ids) == sorted(load_dataset(str(root), "test").ids)
