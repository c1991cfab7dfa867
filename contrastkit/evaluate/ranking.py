"""Top-k recommendation on held-out interactions: metrics, the shared ranking step, and the
baselines a recommender must beat (most popular, item-kNN)."""

from __future__ import annotations

import numpy as np
import torch

from contrastkit.data.interactions import Interactions

__all__ = [
    "item_knn_scores",
    "most_popular_scores",
    "popularity",
    "ranking_metrics",
    "seen_mask",
    "top_k",
]


def seen_mask(train: Interactions, users: np.ndarray) -> torch.Tensor:
    """(U, n_items) bool: True where user `users[u]` already has the item in train."""
    row = np.full(train.n_users, -1)
    row[users] = np.arange(len(users))
    keep = row[train.user] >= 0
    mask = torch.zeros(len(users), train.n_items, dtype=torch.bool)
    mask[torch.as_tensor(row[train.user[keep]]), torch.as_tensor(train.item[keep])] = True
    return mask


def top_k(scores: torch.Tensor, seen: torch.Tensor, k: int) -> torch.Tensor:
    """(U, n_items) scores -> (U, k) item codes, best first, never an item already seen."""
    return scores.masked_fill(seen, float("-inf")).topk(k, dim=1).indices


def ranking_metrics(
    recommended: torch.Tensor, users: np.ndarray, test: Interactions, k: int = 10
) -> dict[str, float]:
    """recall@k and nDCG@k (binary relevance) averaged over `users`.

    recall@k = hits in the top k / the user's held-out items; nDCG@k divides DCG by the
    ideal DCG of min(k, held-out items) hits.
    """
    relevant = seen_mask(test, users)  # held-out items per user
    hits = relevant.gather(1, recommended[:, :k]).float()
    n_rel = relevant.sum(1).clamp_min(1).float()
    discount = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float32))
    dcg = (hits * discount).sum(1)
    ideal = torch.cumsum(discount, 0)[(n_rel.clamp(max=k) - 1).long()]
    return {
        f"recall@{k}": float((hits.sum(1) / n_rel).mean()),
        f"ndcg@{k}": float((dcg / ideal).mean()),
    }


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
