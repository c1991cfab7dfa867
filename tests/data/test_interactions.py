"""Interaction files and the time-ordered split of each user's history."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrastkit.data.interactions import from_columns, load_interactions, temporal_split
from contrastkit.errors import ContrastkitError, DataFormatError


def toy_interactions():
    """13 interactions of 3 users with times (u1: 6, u2: 5, u3: 2)."""
    users = ["u1"] * 6 + ["u2"] * 5 + ["u3"] * 2
    items = ["a", "b", "c", "d", "e", "f", "a", "c", "e", "b", "g", "a", "b"]
    times = [5, 1, 3, 2, 6, 4, 1, 2, 3, 5, 4, 1, 2]
    return from_columns(users, items, times)


def test_temporal_split_holds_out_each_users_latest_interactions() -> None:
    data = toy_interactions()
    train, test = temporal_split(data, test_fraction=0.34, min_interactions=5)
    held = sorted(
        (data.user_ids[u], data.item_ids[i]) for u, i in zip(test.user, test.item, strict=True)
    )
    # u1: 6 * 0.34 -> 2 latest (times 6, 5: e, a); u2: 5 * 0.34 -> 1 latest (time 5: b); u3 < 5
    assert held == [("u1", "a"), ("u1", "e"), ("u2", "b")]
    assert len(train) + len(test) == len(data)
    for u in range(data.n_users):
        if (test.user == u).any():
            assert train.time[train.user == u].max() <= test.time[test.user == u].min()


def test_interaction_csv_errors_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("user,item,time\n1,a,10\n2,,11\n3,b,soon\n4,c,12\n")
    data = load_interactions(path)
    assert len(data) == 2 and data.skipped == [
        (3, "empty item"),
        (4, "time='soon' is not a number"),
    ]
    path.write_text("uid,item\n1,a\n")
    with pytest.raises(DataFormatError, match=r"missing column.*user"):
        load_interactions(path)
    with pytest.raises(ContrastkitError, match="does not exist"):
        load_interactions(tmp_path / "none.csv")
