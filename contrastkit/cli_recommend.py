"""Commands for recommendation: train-recommender and recommend."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_index import _show

Opt = typer.Option


def train_recommender(
    data: Annotated[
        str, typer.Argument(help="movielens, or a .csv/.tsv of interactions (user,item[,time])")
    ] = "movielens",
    output: Annotated[Path, Opt("--output", "-o", help="recommender folder to write")] = Path(
        "runs/recommender"
    ),
    user_column: Annotated[str, Opt(help="csv: the user column")] = "user",
    item_column: Annotated[str, Opt(help="csv: the item column")] = "item",
    time_column: Annotated[str, Opt(help="csv: the time column (row order if absent)")] = "time",
    test_fraction: Annotated[float, Opt(help="each user's latest share held out")] = 0.2,
    epochs: Annotated[int, Opt(help="passes over the train interactions")] = 20,
    dim: Annotated[int, Opt(help="embedding size")] = 64,
    temperature: Annotated[float, Opt(help="InfoNCE temperature")] = 0.2,
    popularity_weight: Annotated[
        float, Opt(help="weight of log item popularity added back when ranking")
    ] = 1.5,
    seed: Annotated[int, Opt(help="random seed")] = 0,
    progress: Annotated[bool, Opt(help="show a progress bar")] = True,
) -> None:
    """Train a two-tower recommender (in-batch InfoNCE) and score it on each user's latest
    interactions against most-popular and item-kNN."""
    from contrastkit.recommend.run import train_recommender as run
    from contrastkit.recommend.two_tower import TwoTowerConfig

    cfg = TwoTowerConfig(
        dim=dim,
        temperature=temperature,
        popularity_weight=popularity_weight,
        epochs=epochs,
        seed=seed,
    )
    scores = run(
        data,
        output,
        cfg,
        test_fraction=test_fraction,
        progress=progress,
        columns=(user_column, item_column, time_column),
    )
    _show(
        [
            {"system": name, **{m: round(v, 4) for m, v in s.items()}}
            for name, s in scores["systems"].items()
        ],
        False,
    )
    typer.echo(
        f"{scores['train']} train / {scores['test']} held-out interactions, "
        f"{scores['users']} test users; recommender written to {output}"
    )


def recommend(
    user: Annotated[str, typer.Argument(help="a user id from the training data")],
    model: Annotated[Path, Opt(help="a folder from `contrastkit train-recommender`")] = Path(
        "runs/recommender"
    ),
    k: Annotated[int, Opt("-k", help="items to recommend")] = 10,
    as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False,
) -> None:
    """The top-k items for a user, leaving out items already in their history."""
    from contrastkit.recommend.saved import SavedRecommender

    _show(SavedRecommender.load(model).recommend(user, k), as_json)


def register(app: typer.Typer) -> None:
    app.command("train-recommender")(train_recommender)
    app.command()(recommend)
