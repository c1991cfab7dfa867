"""The `recommend` command: a user's top items from an interactions run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_output import AsJson, show_rows

Opt = typer.Option


def recommend(
    user: Annotated[str, typer.Argument(help="a user id from the training data")],
    model: Annotated[Path, Opt(help="an interactions run folder from `contrastkit train`")],
    k: Annotated[int, Opt("-k", help="items to recommend")] = 10,
    as_json: AsJson = False,
) -> None:
    """The top-k items for a user, leaving out items already in their history."""
    from contrastkit.errors import ContrastkitError
    from contrastkit.pipeline.evaluate_run import load_run_model

    cfg, modality, data, trained = load_run_model(model)
    if not hasattr(modality, "recommend"):
        raise ContrastkitError(f"{model} is a {modality.name} run; recommend needs interactions")
    show_rows(modality.recommend(trained, cfg, data, user, k), as_json)


def register(app: typer.Typer) -> None:
    app.command()(recommend)
