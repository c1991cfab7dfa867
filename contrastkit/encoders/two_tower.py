"""The two towers of a recommender: items and users embedded into one space.

Item tower: an item-id embedding plus the mean embedding of the item's tags (e.g. genres)
through an MLP. User tower: a user-id embedding plus the mean embedding of the user's
training history through an MLP; the item being predicted can be left out of the
history (during training the target is always one of the user's own items). Both output
`dim`-sized vectors; a two-tower method (CLIP) projects and compares them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ItemTower", "UserTower"]


def _mlp(dim: int, hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class ItemTower(nn.Module):
    """(B,) int64 item codes -> (B, dim).

    Args:
        n_items: code range.
        item_tags: per item, a list of tag codes (may be empty), or None for no tags.
        n_tags: tag code range.
        dim, hidden: embedding and MLP sizes.
    """

    def __init__(
        self, n_items: int, item_tags: list[list[int]] | None, n_tags: int, dim: int = 64,
        hidden: int = 128,
    ) -> None:  # fmt: skip
        super().__init__()
        self.item_embedding = nn.Embedding(n_items, dim)
        self.tag_embedding = nn.EmbeddingBag(max(n_tags, 1), dim, mode="mean")
        for emb in (self.item_embedding, self.tag_embedding):
            nn.init.normal_(emb.weight, std=0.1)
        tags = item_tags or [[] for _ in range(n_items)]
        flat = [t for row in tags for t in row]
        offsets = np.concatenate([[0], np.cumsum([len(row) for row in tags])[:-1]])
        self.register_buffer("tag_values", torch.as_tensor(flat, dtype=torch.long))
        self.register_buffer("tag_offsets", torch.as_tensor(offsets, dtype=torch.long))
        self.mlp = _mlp(dim, hidden)
        self.output_dim = dim

    def forward(self, item: Tensor) -> Tensor:
        every = self.tag_embedding(self.tag_values, self.tag_offsets)  # empty bags give zeros
        return self.mlp(self.item_embedding(item) + every[item])


class UserTower(nn.Module):
    """(B, 2) int64 rows [user code, item to leave out of the history or -1] -> (B, dim).

    Args:
        n_users, n_items: code ranges.
        history: (users, items) code arrays of the training interactions.
        dim, hidden: embedding and MLP sizes.
    """

    def __init__(
        self, n_users: int, n_items: int, history: tuple[np.ndarray, np.ndarray], dim: int = 64,
        hidden: int = 128,
    ) -> None:  # fmt: skip
        super().__init__()
        self.user_embedding = nn.Embedding(n_users, dim)
        self.history_embedding = nn.Embedding(n_items, dim)
        for emb in (self.user_embedding, self.history_embedding):
            nn.init.normal_(emb.weight, std=0.1)
        users, items = history
        order = np.argsort(users, kind="stable")
        counts = np.bincount(users, minlength=n_users)
        self.register_buffer("history_items", torch.as_tensor(items[order], dtype=torch.long))
        self.register_buffer(
            "history_offsets", torch.as_tensor(np.cumsum(counts) - counts, dtype=torch.long)
        )
        self.register_buffer("history_counts", torch.as_tensor(counts, dtype=torch.float32))
        self.mlp = _mlp(dim, hidden)
        self.output_dim = dim

    def forward(self, rows: Tensor) -> Tensor:
        user, leave_out = rows[:, 0], rows[:, 1]
        total = F.embedding_bag(
            self.history_items, self.history_embedding.weight, self.history_offsets, mode="sum"
        )[user]
        out = leave_out >= 0
        total = total - self.history_embedding(leave_out.clamp_min(0)) * out[:, None]
        count = self.history_counts[user] - out.float()
        history = total / count.clamp_min(1.0)[:, None]
        return self.mlp(self.user_embedding(user) + history)
