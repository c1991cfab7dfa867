"""A trained recommender on disk, and top-k recommendations for one user.

Folder layout: recommender.json (settings, user and item ids, titles, tags, held-out
scores), two_tower.safetensors (weights), seen.npz (train interactions, to leave out items
a user already has).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from contrastkit.errors import ContrastkitError
from contrastkit.recommend.interactions import Interactions
from contrastkit.recommend.metrics import seen_mask, top_k
from contrastkit.recommend.two_tower import TwoTower, TwoTowerConfig, tag_codes

META_FILE = "recommender.json"
WEIGHTS_FILE = "two_tower.safetensors"
SEEN_FILE = "seen.npz"


@dataclass
class SavedRecommender:
    model: TwoTower
    train: Interactions
    scores: dict[str, Any]

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.contiguous() for k, v in self.model.state_dict().items()}, folder / WEIGHTS_FILE
        )
        np.savez(folder / SEEN_FILE, user=self.train.user, item=self.train.item)
        meta = {
            "config": self.model.cfg.__dict__,
            "user_ids": self.train.user_ids,
            "item_ids": self.train.item_ids,
            "item_titles": self.train.item_titles,
            "item_tags": self.train.item_tags,
            "scores": self.scores,
        }
        (folder / META_FILE).write_text(json.dumps(meta) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> SavedRecommender:
        folder = Path(folder)
        if not (folder / META_FILE).is_file():
            raise ContrastkitError(
                f"{folder} is not a recommender folder (no {META_FILE}); train one with "
                "`contrastkit train-recommender`"
            )
        meta = json.loads((folder / META_FILE).read_text())
        seen = np.load(folder / SEEN_FILE, allow_pickle=False)
        train = Interactions(
            seen["user"],
            seen["item"],
            np.zeros(len(seen["user"])),
            meta["user_ids"],
            meta["item_ids"],
            meta["item_titles"],
            meta["item_tags"],
        )
        tags, names = tag_codes(train)
        model = TwoTower(
            train.n_users,
            train.n_items,
            tags,
            len(names),
            TwoTowerConfig(**meta["config"]),
            history=(train.user, train.item),
        )
        model.load_state_dict(load_file(folder / WEIGHTS_FILE))
        model.eval()
        return cls(model, train, meta.get("scores", {}))

    def recommend(self, user_id: str, k: int = 10) -> list[dict[str, Any]]:
        """The user's top-k items not already in their history: rank, item, score, title."""
        try:
            code = self.train.user_ids.index(str(user_id))
        except ValueError:
            examples = ", ".join(self.train.user_ids[:3])
            raise ContrastkitError(
                f"unknown user {user_id!r}: the recommender knows {self.train.n_users} users "
                f"(ids like {examples})"
            ) from None
        users = np.array([code])
        scores = self.model.scores(torch.as_tensor(users))
        best = top_k(scores, seen_mask(self.train, users), k)[0]
        rows = []
        for rank, item in enumerate(best.tolist(), start=1):
            row: dict[str, Any] = {"rank": rank, "item": self.train.item_ids[item]}
            row["score"] = round(float(scores[0, item]), 4)
            if self.train.item_titles is not None:
                row["title"] = self.train.item_titles[item]
            rows.append(row)
        return rows
