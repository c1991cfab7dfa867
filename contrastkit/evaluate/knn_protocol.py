"""The kNN evaluation protocol: which k by default, and accuracy at several k at once.

A weighted kNN accuracy depends on k as much as on the embedding: with k=200 on a bank of
3,000 items in 10 classes every query votes with two thirds of a class, and a good
embedding can score below raw pixels. So the default k follows the bank:

    k = max(1, min(20, bank // (2 * classes)))

k=20 is the protocol of DINO [1] (which reports it above k=10, 100 and 200 on ImageNet)
and solo-learn's kNN callback [2]; it is lowered when the bank holds fewer than 40 items
per class, so that k stays at most half an average class. Evaluations also report the
accuracy at k = 1, 5, 20 and 200 (those the bank allows), the weighted vote of Wu et al.
[3] at the same temperature, so a result can be read at the peers' settings too.

[1] Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021.
[2] da Costa et al., "solo-learn: A Library of Self-supervised Methods for Visual
    Representation Learning", JMLR 2022 (`solo/utils/knn.py`, k=20).
[3] Wu et al., "Unsupervised Feature Learning via Non-Parametric Instance
    Discrimination", CVPR 2018 (k=200 on ImageNet's 1.28M-image bank).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from contrastkit.evaluate.knn import knn_predict

__all__ = [
    "KNN_AT",
    "REPORTED_KS",
    "default_knn_k",
    "knn_accuracies",
    "knn_metric",
    "reported_ks",
]

REPORTED_KS = (1, 5, 20, 200)
KNN_AT = "knn_top1@"  # metric names of the accuracy at another k than the default
_DEFAULT_K = 20


def default_knn_k(bank: int, classes: int) -> int:
    """The default k for a labelled bank of `bank` items in `classes` classes:
    max(1, min(20, bank // (2 * classes))) (see the module docstring).

    Example:
        >>> default_knn_k(3000, 10), default_knn_k(200, 10), default_knn_k(30, 10)
        (20, 10, 1)
    """
    if bank < 1 or classes < 1:
        raise ValueError(f"bank and classes must be >= 1, got bank={bank}, classes={classes}")
    return max(1, min(_DEFAULT_K, bank // (2 * classes)))


def reported_ks(bank: int, default: int) -> list[int]:
    """The k an evaluation reports: `REPORTED_KS` and `default`, those <= `bank`, sorted."""
    return sorted({k for k in (*REPORTED_KS, default) if k <= bank})


def knn_metric(k: int) -> str:
    """The metric name of kNN top-1 accuracy at `k` beside the default one ("knn_top1@5")."""
    return f"{KNN_AT}{k}"


def knn_accuracies(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    ks: Sequence[int],
    temperature: float = 0.1,
    num_classes: int | None = None,
    batch_size: int = 1024,
) -> dict[int, float]:
    """Weighted-kNN top-1 accuracy at every k of `ks`, from one similarity pass.

    The same vote as `knn_predict` (cosine similarity, exp(sim / temperature) weights);
    the largest k's neighbours are found once and each smaller k reads the first k of them.

    Args:
        train_features: (N, D) embeddings of the labelled bank.
        train_labels: (N,) int classes.
        test_features: (M, D) embeddings to classify.
        test_labels: (M,) int true classes.
        ks: neighbour counts, each >= 1 (values above N are clipped to N).
        temperature: weighting temperature, > 0.
        num_classes: default max of both label sets + 1.

    Returns:
        {k: accuracy in [0, 1]} for each k of `ks`.

    Raises:
        ValueError: as `knn_predict`, or an empty `ks`.
    """
    if not ks:
        raise ValueError("ks must name at least one k")
    if num_classes is None:
        num_classes = 1 + max(int(train_labels.max()), int(test_labels.max()))
    top = min(max(ks), train_features.shape[0])
    knn_predict(  # validates every argument the same way (on one query row)
        train_features, train_labels, test_features[:1], k=top, temperature=temperature,
        num_classes=num_classes, batch_size=batch_size,
    )  # fmt: skip
    bank = F.normalize(train_features.float(), dim=1)
    labels = train_labels.to(device=bank.device, dtype=torch.long)
    truth = test_labels.to(bank.device)
    correct = dict.fromkeys(ks, 0)
    for start in range(0, test_features.shape[0], batch_size):
        queries = F.normalize(test_features[start : start + batch_size].float(), dim=1)
        top_sim, top_idx = (queries.to(bank.device) @ bank.T).topk(top, dim=1)
        weights = ((top_sim - top_sim[:, :1]) / temperature).exp()
        votes = labels[top_idx]
        for k in ks:
            kk = min(k, top)
            scores = torch.zeros(queries.shape[0], num_classes, device=bank.device)
            scores.scatter_add_(1, votes[:, :kk], weights[:, :kk])
            hits = scores.argmax(1) == truth[start : start + batch_size]
            correct[k] += int(hits.sum())
    n = test_features.shape[0]
    return {k: (correct[k] / n if n else float("nan")) for k in ks}
