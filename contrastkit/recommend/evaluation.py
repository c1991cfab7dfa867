"""Score recommenders on a time-ordered held-out split: two-tower against the baselines."""

from __future__ import annotations

import numpy as np
import torch

from contrastkit.recommend.baselines import item_knn_scores, most_popular_scores
from contrastkit.recommend.interactions import Interactions
from contrastkit.recommend.metrics import ranking_metrics, seen_mask, top_k
from contrastkit.recommend.two_tower import TwoTower


def test_users(test: Interactions) -> np.ndarray:
    """The users that have held-out interactions."""
    return np.unique(test.user)


def score_all(
    train: Interactions, test: Interactions, model: TwoTower | None = None, k: int = 10
) -> dict[str, dict[str, float]]:
    """recall@k and nDCG@k of most-popular, item-kNN and (if given) the two-tower model."""
    users = test_users(test)
    seen = seen_mask(train, users)
    systems = {
        "most popular": most_popular_scores(train, users),
        "item-kNN": item_knn_scores(train, users),
    }
    if model is not None:
        systems["two-tower"] = model.scores(torch.as_tensor(users))
    return {
        name: ranking_metrics(top_k(scores, seen, k), users, test, k)
        for name, scores in systems.items()
    }
