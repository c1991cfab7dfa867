"""Held-out splits of image data: the monitor hold-out is a capped share of the training
items, none for small sets."""

from __future__ import annotations

import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.splits import monitor_holdout, split_images


def _labelled(n: int) -> ImageDataset:
    images = torch.zeros(n, 1, 4, 4, dtype=torch.uint8)
    return ImageDataset(images, torch.arange(n) % 10, [str(i) for i in range(n)])


def test_the_holdout_is_ten_percent_capped_at_1000_and_none_below_500() -> None:
    assert [monitor_holdout(n) for n in (499, 500, 4000, 10000, 60000)] == [0, 50, 400, 1000, 1000]


def test_default_holdout_follows_the_rule_after_the_test_split() -> None:
    s = split_images(_labelled(5000), None, test_size=0.2, holdout=None)
    assert len(s.test) == 1000 and len(s.queries) == 400 and len(s.train) == 3600
    assert len(s.pool) == 4000  # the evaluation bank keeps the queries
    small = split_images(_labelled(400), None, test_size=0.2, holdout=None)
    assert small.queries is None and len(small.train) == 320
    given = split_images(_labelled(5000), None, test_size=0.2, holdout=1000)
    assert len(given.queries) == 1000  # an explicit count is kept
