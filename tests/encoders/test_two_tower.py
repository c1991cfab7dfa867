"""The recommender's towers: the user tower leaves the target out of the history exactly as
a loop over each user's items does (value and gradient)."""

from __future__ import annotations

import torch

from contrastkit.data.interactions import from_columns
from contrastkit.encoders.two_tower import ItemTower, UserTower


def _toy():
    users = ["u1"] * 6 + ["u2"] * 5 + ["u3"] * 2
    items = ["a", "b", "c", "d", "e", "f", "a", "c", "e", "b", "g", "a", "b"]
    return from_columns(users, items)


def test_user_tower_leaves_the_target_out_of_the_history() -> None:
    torch.manual_seed(0)
    data = _toy()
    tower = UserTower(data.n_users, data.n_items, (data.user, data.item), dim=8, hidden=16)
    rows = torch.tensor([[0, 0], [1, 2], [2, 1], [0, -1], [2, 0]])  # -1: keep the history
    out = tower(rows)
    out.sum().backward()
    fast = tower.history_embedding.weight.grad.clone()
    tower.zero_grad()
    reference = []
    for user, leave_out in rows.tolist():
        history = data.item[data.user == user].tolist()
        if leave_out >= 0:
            history.remove(leave_out)
        mean = tower.history_embedding(torch.tensor(history)).mean(0)
        reference.append(tower.mlp(tower.user_embedding.weight[user] + mean))
    reference = torch.stack(reference)
    torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-6)
    reference.sum().backward()
    torch.testing.assert_close(fast, tower.history_embedding.weight.grad, rtol=1e-5, atol=1e-6)


def test_item_tower_adds_the_mean_tag_embedding() -> None:
    torch.manual_seed(0)
    tower = ItemTower(3, [[0, 1], [], [1]], n_tags=2, dim=4, hidden=8)
    items = torch.tensor([0, 1, 2])
    tags = tower.tag_embedding.weight
    inputs = tower.item_embedding(items) + torch.stack(
        [(tags[0] + tags[1]) / 2, torch.zeros(4), tags[1]]
    )
    torch.testing.assert_close(tower(items), tower.mlp(inputs))
    assert tower.output_dim == 4
