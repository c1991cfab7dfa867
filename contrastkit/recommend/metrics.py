"""Top-k recommendation metrics on held-out interactions, and the shared ranking step."""

from __future__ import annotations

import numpy as np
import torch

from contrastkit.recommend.interactions import Interactions


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
