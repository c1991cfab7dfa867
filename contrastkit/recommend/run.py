"""`contrastkit train-recommender`: load, split by time, train, score, save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contrastkit.recommend.evaluation import score_all, test_users
from contrastkit.recommend.interactions import load_interactions, temporal_split
from contrastkit.recommend.saved import SavedRecommender
from contrastkit.recommend.two_tower import TwoTowerConfig, train_two_tower


def train_recommender(
    data: str | Path,
    output: str | Path,
    cfg: TwoTowerConfig,
    *,
    test_fraction: float = 0.2,
    columns: tuple[str, str, str] = ("user", "item", "time"),
    progress: bool = False,
) -> dict[str, Any]:
    """Train on all but each user's latest interactions, score on those, save to `output`.

    Returns the held-out scores: {"systems": {name: {"recall@10", "ndcg@10"}}, counts...}.
    """
    cfg.validate()  # a bad setting fails before any data is read
    interactions = load_interactions(data, *columns)
    train, test = temporal_split(interactions, test_fraction)
    model, history = train_two_tower(train, cfg, progress=progress)
    scores = {
        "systems": score_all(train, test, model),
        "train": len(train),
        "test": len(test),
        "users": len(test_users(test)),
        "loss_per_epoch": history,
        "skipped_rows": len(interactions.skipped),
    }
    SavedRecommender(model, train, scores).save(output)
    return scores
