"""The shared part of modalities whose items are rows of one tensor (tables, audio clips,
graph nodes): labelled train/test splits, batches through `TensorBatches`, evaluation by
kNN and a linear probe against the raw features and the random-init encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from contrastkit.config import Config
from contrastkit.errors import ContrastkitError
from contrastkit.evaluate.geometry import effective_rank
from contrastkit.evaluate.semi_supervised import embed_tensors
from contrastkit.modalities.base import (
    ItemSet,
    Modality,
    Prepared,
    classification_scores,
    few_label_rows,
)
from contrastkit.train.tensor_batches import TensorBatches

__all__ = ["RawFeatures", "TensorData", "TensorModality"]


@dataclass
class TensorData(Prepared):
    """Items as tensors: `train` (N, ...) with `labels` (N,) or None, and a labelled test
    split (M, ...) when the data allows one."""

    train: Tensor | None = None
    test: Tensor | None = None
    test_labels: Tensor | None = None
    classes: list[str] | None = None


class RawFeatures:
    """The raw-input baseline: items -> (N, F) features, no learning."""

    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        self.fn = fn

    def __call__(self, items: Tensor) -> Tensor:
        return self.fn(items).float().flatten(1)


class TensorModality(Modality):
    """Base of tensor-item adapters; subclasses give `prepare`, `build_encoder`, `views`
    and `raw_features`.

    Class attributes:
        raw_name: the raw-input baseline's row name in evaluation tables.
        standardize: scale features by the train split's statistics before kNN.
    """

    raw_name = "raw features"
    standardize = True
    embed_chunk = 4096
    has_few_labels = True
    views_on_device = True  # False: views made on the CPU, batches moved by the trainer

    def views(self, cfg: Config, data: TensorData, method) -> Callable:
        """`views(x, generator) -> [view, ...]` for a batch x of training items."""
        raise NotImplementedError

    def raw_features(self, items: Tensor, cfg: Config, data: TensorData) -> Tensor:
        raise NotImplementedError

    def batches(self, cfg: Config, data: TensorData, method, device: torch.device):
        labels = data.labels if method.needs_labels or getattr(method, "use_labels", 0) else None
        where = device if self.views_on_device else torch.device("cpu")
        return TensorBatches(data.train, self.views(cfg, data, method), labels, device=where)

    def baselines(self, cfg: Config, data: TensorData) -> list[tuple[str, Any]]:
        raw = RawFeatures(lambda x: self.raw_features(x, cfg, data))
        return [(self.raw_name, raw), ("random-init encoder", self.build_encoder(cfg, data))]

    def features(self, model: Any, items: Tensor, cfg: Config, data: TensorData) -> Tensor:
        """(N, D) float32 features of `items` by a trained model or a baseline."""
        if isinstance(model, RawFeatures):
            return model(items)
        return embed_tensors(model, items, prepare=self.embed_input(cfg, data))

    def score(self, model: Any, cfg: Config, data: TensorData) -> dict[str, float]:
        if data.labels is None or data.test is None or data.test_labels is None:
            raise ContrastkitError(f"{data.description}: no labels, nothing to evaluate against")
        f_train = self.features(model, data.train, cfg, data)
        f_test = self.features(model, data.test, cfg, data)
        labels = data.labels, data.test_labels
        out = classification_scores(f_train, labels[0], f_test, labels[1], cfg, self.standardize)
        return out | {"effective_rank": effective_rank(f_test)}  # of the test features

    def few_label_rows(self, trained: Any, cfg: Config, data: TensorData) -> list[dict]:
        if data.labels is None or data.test_labels is None:
            raise ContrastkitError(f"{data.description}: few-label evaluation needs labels")
        return few_label_rows(
            trained, lambda: self.build_encoder(cfg, data), (data.train, data.labels),
            (data.test, data.test_labels), cfg, self.embed_input(cfg, data),
        )  # fmt: skip

    def items(self, cfg: Config, data: TensorData, split: str) -> ItemSet:
        if split == "test" and data.test is None:
            raise ContrastkitError(f"{cfg.data.dataset} has no test split")
        x, y = (data.train, data.labels) if split == "train" else (data.test, data.test_labels)
        labels = None if y is None else y.numpy()
        ids = [f"{split}/{i}" for i in range(len(x))]
        return ItemSet(x, ids, labels, data.classes, name=f"{Path(cfg.data.dataset).name} {split}")

    def embed(self, model: Any, items: ItemSet, cfg: Config, data: TensorData) -> np.ndarray:
        return self.features(model, items.items, cfg, data).numpy()
