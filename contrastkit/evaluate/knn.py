"""Weighted k-nearest-neighbour classification of frozen embeddings."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Metric = Literal["cosine", "l2"]
Weighting = Literal["exp", "uniform"]


def knn_predict(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    *,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    batch_size: int = 1024,
    metric: Metric = "cosine",
    weighting: Weighting = "exp",
) -> torch.Tensor:
    """Predict test labels by a weighted vote of the k most similar training rows.

    The protocol of Wu et al. [1], as used by solo-learn and LightlySSL: similarity is the
    cosine of L2-normalised features, each of the k nearest neighbours votes for its class
    with weight exp(sim / temperature), and the class with the largest summed weight wins.
    `metric="l2"` ranks by Euclidean distance d on the raw features (similarity -d), and
    `weighting="uniform"` gives every neighbour one vote; together they are the classic kNN.

    Weights are computed as exp((sim - max_sim) / temperature), which rescales each row's
    scores by a constant (predictions unchanged) and cannot overflow or underflow to all
    zeros. Ties between classes go to the lowest class index. Test rows are processed in
    chunks of `batch_size`, so memory is O(batch_size * N).

    Args:
        train_features: (N, D) embeddings of the labelled bank.
        train_labels: (N,) int class indices in [0, num_classes).
        test_features: (M, D) embeddings to classify.
        k: neighbours per query, >= 1; values above N are clipped to N.
        temperature: softmax temperature of the exp weighting, > 0.
        num_classes: number of classes; default max(train_labels) + 1.
        batch_size: test rows per chunk, >= 1.
        metric: "cosine" or "l2".
        weighting: "exp" or "uniform".

    Returns:
        (M,) int64 predicted classes, on the device of `test_features`.

    Raises:
        ValueError: a shape, length, label or option is invalid (names the argument).

    Example:
        >>> bank, labels = torch.randn(100, 16), torch.randint(0, 3, (100,))
        >>> knn_predict(bank, labels, torch.randn(5, 16), k=10).shape
        torch.Size([5])

    [1] Wu et al., "Unsupervised Feature Learning via Non-Parametric Instance
        Discrimination", CVPR 2018.
    """
    num_classes = _validate(
        train_features, train_labels, test_features, k, temperature, num_classes, batch_size
    )
    if metric not in ("cosine", "l2"):
        raise ValueError(f"metric must be 'cosine' or 'l2', got {metric!r}")
    if weighting not in ("exp", "uniform"):
        raise ValueError(f"weighting must be 'exp' or 'uniform', got {weighting!r}")

    device = train_features.device
    bank = train_features.float()
    if metric == "cosine":
        bank = F.normalize(bank, dim=1)
    labels = train_labels.to(device=device, dtype=torch.long)
    k = min(k, bank.shape[0])

    predictions = []
    for start in range(0, test_features.shape[0], batch_size):
        queries = test_features[start : start + batch_size].to(device=device, dtype=torch.float32)
        if metric == "cosine":
            sim = F.normalize(queries, dim=1) @ bank.T  # (B, N)
        else:
            sim = -torch.cdist(queries, bank)  # (B, N)
        top_sim, top_idx = sim.topk(k, dim=1)  # (B, k), sorted descending
        if weighting == "exp":
            weights = ((top_sim - top_sim[:, :1]) / temperature).exp()
        else:
            weights = torch.ones_like(top_sim)
        scores = torch.zeros(queries.shape[0], num_classes, device=device)
        scores.scatter_add_(1, labels[top_idx], weights)  # (B, C)
        predictions.append(scores.argmax(dim=1))
    if not predictions:
        return torch.empty(0, dtype=torch.long, device=test_features.device)
    return torch.cat(predictions).to(test_features.device)


def knn_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    batch_size: int = 1024,
    metric: Metric = "cosine",
    weighting: Weighting = "exp",
) -> float:
    """Top-1 accuracy in [0, 1] of `knn_predict` on labelled test rows.

    Args:
        test_labels: (M,) int true classes of `test_features`; the rest as in `knn_predict`.

    Raises:
        ValueError: as `knn_predict`, or `test_labels` does not have M entries.
    """
    if test_labels.shape != (test_features.shape[0],):
        raise ValueError(
            f"test_labels must have shape ({test_features.shape[0]},) to match test_features, "
            f"got {tuple(test_labels.shape)}"
        )
    predictions = knn_predict(
        train_features,
        train_labels,
        test_features,
        k=k,
        temperature=temperature,
        num_classes=num_classes,
        batch_size=batch_size,
        metric=metric,
        weighting=weighting,
    )
    if predictions.numel() == 0:
        return float("nan")
    return (predictions.cpu() == test_labels.cpu()).double().mean().item()


def _validate(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    k: int,
    temperature: float,
    num_classes: int | None,
    batch_size: int,
) -> int:
    """Check the arguments of `knn_predict` and return the number of classes."""
    if train_features.ndim != 2 or train_features.shape[0] == 0:
        raise ValueError(
            f"train_features must be a non-empty (N, D) tensor, got {tuple(train_features.shape)}"
        )
    if test_features.ndim != 2:
        raise ValueError(f"test_features must be (M, D), got {tuple(test_features.shape)}")
    if test_features.shape[1] != train_features.shape[1]:
        raise ValueError(
            f"test_features has dimension {test_features.shape[1]} but train_features has "
            f"{train_features.shape[1]}; both must be embeddings of the same size"
        )
    if train_labels.shape != (train_features.shape[0],):
        raise ValueError(
            f"train_labels must have shape ({train_features.shape[0]},) to match "
            f"train_features, got {tuple(train_labels.shape)}"
        )
    if train_labels.is_floating_point() or train_labels.is_complex():
        raise ValueError(f"train_labels must hold integer classes, got {train_labels.dtype}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    low, high = int(train_labels.min()), int(train_labels.max())
    if low < 0:
        raise ValueError(f"train_labels must be >= 0, got a label {low}")
    if num_classes is None:
        return high + 1
    if num_classes <= high:
        raise ValueError(
            f"num_classes must exceed the largest train label {high}, got {num_classes}"
        )
    return num_classes
