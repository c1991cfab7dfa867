"""The image adapter's splits: classes left out of training, the test split untouched."""

from __future__ import annotations

import pytest
import torch

from contrastkit.errors import ContrastkitError
from contrastkit.modalities.image import ImageModality
from contrastkit.pipeline.settings import load_config


def _prepare(**data):
    cfg = load_config(None, {"data.dataset": "digits", "train.steps": 1, **data})
    return ImageModality().prepare(cfg, None)


def test_excluded_classes_leave_training_and_monitor_but_not_test() -> None:
    splits = _prepare(**{"data.holdout": 100, "data.exclude_classes": [3, 7]})
    for part in (splits.train, splits.monitor_queries):
        assert not torch.isin(part.labels, torch.tensor([3, 7])).any()
        assert set(part.labels.tolist()) == set(range(10)) - {3, 7}
    assert {3, 7} <= set(splits.test.labels.tolist())
    full = _prepare(**{"data.holdout": 100})
    kept = (~torch.isin(full.train.labels, torch.tensor([3, 7]))).sum()
    kept += (~torch.isin(full.monitor_queries.labels, torch.tensor([3, 7]))).sum()
    assert len(splits.train) + len(splits.monitor_queries) == kept


def test_excluding_every_class_is_an_error() -> None:
    with pytest.raises(ContrastkitError, match="leaves no item"):
        _prepare(**{"data.exclude_classes": list(range(10))})
