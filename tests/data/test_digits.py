from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sk_load_digits

from contrastkit.data.digits import load_digits
from contrastkit.errors import ConfigError


def test_split_sizes_and_disjointness() -> None:
    train, test, everything = load_digits("train"), load_digits("test"), load_digits("all")
    assert (len(train), len(test), len(everything)) == (1437, 360, 1797)
    assert set(train.ids).isdisjoint(test.ids)
    assert set(train.ids) | set(test.ids) == set(everything.ids)


def test_split_is_deterministic_and_stratified() -> None:
    first, second = load_digits("test"), load_digits("test")
    assert first.ids == second.ids
    assert torch.equal(first.images, second.images)
    counts = first.labels.bincount(minlength=10)
    assert int(counts.min()) >= 35 and int(counts.max()) <= 37


def test_values_shape_and_metadata() -> None:
    data = load_digits("all")
    assert data.images.shape == (1797, 1, 8, 8) and data.images.dtype == torch.uint8
    assert int(data.images.min()) == 0 and int(data.images.max()) == 255
    bunch = sk_load_digits()
    expected = bunch.images.astype(np.int64) * 255 // 16
    np.testing.assert_array_equal(data.images[:, 0].numpy(), expected)
    assert data.labels.dtype == torch.int64
    np.testing.assert_array_equal(data.labels.numpy(), bunch.target)
    assert data.ids[:2] == ["digits/0", "digits/1"]
    assert data.classes == [str(d) for d in range(10)] and data.name == "digits"


def test_ids_point_at_original_items() -> None:
    test = load_digits("test")
    index = [int(i.split("/")[1]) for i in test.ids]
    assert index == sorted(index)
    expected = sk_load_digits().images[index].astype(np.int64) * 255 // 16
    np.testing.assert_array_equal(test.images[:, 0].numpy(), expected)


def test_unknown_split() -> None:
    with pytest.raises(ConfigError, match="split"):
        load_digits("val")
