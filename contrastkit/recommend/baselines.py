"""Baselines a recommender must beat: most-popular and item-kNN (cosine, top neighbours)."""

from __future__ import annotations

import numpy as np
import torch

from contrastkit.recommend.interactions import Interactions


def popularity(train: Interactions) -> torch.Tensor:
    """(n_items,) float32 interaction counts in train."""
    return torch.as_tensor(np.bincount(train.item, minlength=train.n_items), dtype=torch.float32)


def most_popular_scores(train: Interactions, users: np.ndarray) -> torch.Tensor:
    """(U, n_items): every user gets the train popularity of each item."""
    return popularity(train).expand(len(users), -1).clone()


def item_knn_scores(train: Interactions, users: np.ndarray, neighbours: int = 100) -> torch.Tensor:
    """(U, n_items) item-kNN scores: sum over the user's train items j of cos(j, i), keeping
    each item's `neighbours` most similar items (binary user x item matrix, cosine)."""
    x = torch.zeros(train.n_users, train.n_items)
    x[torch.as_tensor(train.user), torch.as_tensor(train.item)] = 1.0
    norms = x.sum(0).sqrt().clamp_min(1e-8)
    sim = (x.T @ x) / norms[:, None] / norms[None, :]
    sim.fill_diagonal_(0.0)
    if neighbours < train.n_items:
        values, index = sim.topk(neighbours, dim=1)
        sim = torch.zeros_like(sim).scatter_(1, index, values)
    return x[torch.as_tensor(users)] @ sim
