from __future__ import annotations

from pathlib import Path

import pytest
import torch

import contrastkit.data as data_pkg
from contrastkit.data import DATASETS, load_dataset
from contrastkit.data.registry import has_test_split
from contrastkit.errors import ConfigError, DatasetNotFoundError
from tests.data.helpers import write_fake_fashion_mnist, write_image


@pytest.mark.parametrize("name", ["fashion-mnist", "fashion_mnist", "fmnist", "Fashion-MNIST"])
def test_fashion_mnist_names_and_data_dir(tmp_path: Path, name: str) -> None:
    root = write_fake_fashion_mnist(tmp_path, n_train=6, n_test=4)
    assert len(load_dataset(name, data_dir=root)) == 6
    test = load_dataset(name, "test", data_dir=root)
    assert len(test) == 4 and test.name == "fashion-mnist"


def test_fashion_mnist_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fmnist", data_dir=tmp_path)


def test_digits_with_resize_and_channels() -> None:
    data = load_dataset("digits", "test", image_size=16, channels=3)
    assert data.images.shape == (360, 3, 16, 16) and data.images.dtype == torch.uint8
    assert torch.equal(data.images[:, 0], data.images[:, 2])
    assert data.ids == load_dataset("digits", "test").ids
    with pytest.raises(ConfigError, match="split"):
        load_dataset("digits", "validation")


def test_named_dataset_options_validated() -> None:
    with pytest.raises(ConfigError, match="channels"):
        load_dataset("digits", channels=2)


def test_folder_path_ignores_split(tmp_path: Path) -> None:
    for name in ("1.png", "3.png"):
        write_image(tmp_path / "a" / name, size=(8, 6))
        write_image(tmp_path / "b" / name, size=(10, 6))
    data = load_dataset(str(tmp_path), "test", image_size=(6, 8), channels=3)
    assert data.images.shape == (4, 3, 6, 8)
    assert data.classes == ["a", "b"]


def test_unknown_name_lists_known_names(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("cifar10")
    message = str(info.value)
    assert "cifar10" in message
    for name in ("fashion-mnist", "fmnist", "digits"):
        assert name in message
    with pytest.raises(DatasetNotFoundError, match="no folder"):
        load_dataset(str(tmp_path / "nope"))


def test_registry_metadata() -> None:
    evaluation_sets = {"font-letters", "tux-stamps", "twemoji", "mate-icons"}
    assert set(DATASETS) == {"fashion-mnist", "digits", *evaluation_sets}
    assert all(isinstance(text, str) and text for text in DATASETS.values())
    assert has_test_split("fashion-mnist") and has_test_split("fmnist")
    assert has_test_split("digits")
    assert not has_test_split("/some/folder") and not has_test_split("cifar10")


def test_package_reexports() -> None:
    for name in (
        "ImageDataset",
        "read_idx",
        "load_fashion_mnist",
        "load_image_folder",
        "load_digits",
        "load_dataset",
        "DATASETS",
    ):
        assert hasattr(data_pkg, name)
