"""The `contrastkit report` command: an offline HTML report of a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_output import Progress
from contrastkit.progress import progress_bars

Opt = typer.Option


def report(
    run_dir: Annotated[
        Path, typer.Argument(help="a run folder from `contrastkit train` or `train-text`")
    ],
    output: Annotated[
        Path | None, Opt("--output", "-o", help="HTML file to write (default RUN_DIR/report.html)")
    ] = None,
    points: Annotated[
        int, Opt(help="items on the embedding map; 0 skips map and neighbours")
    ] = 2000,
    bank: Annotated[
        int, Opt(help="training items searched for neighbours (a sample); 0: all")
    ] = 10000,
    queries: Annotated[int, Opt(help="query items in the neighbours section")] = 6,
    k: Annotated[int, Opt("-k", help="neighbours per query")] = 8,
    evaluate: Annotated[
        bool, Opt(help="evaluate against baselines when eval.json is missing")
    ] = True,
    projection: Annotated[str, Opt(help="auto (umap if installed, else tsne), tsne, umap, pca")] = (
        "auto"
    ),
    seed: Annotated[int, Opt(help="seed of the samples and the projection")] = 0,
    progress: Progress = None,
) -> None:
    """Write one self-contained HTML report of a run: curves, collapse diagnostics, an
    embedding map, nearest neighbours and the evaluation against baselines."""
    from contrastkit.report.build import FIGURE_DIR, build_report

    with progress_bars(progress):
        path = build_report(
            run_dir,
            output,
            points=points,
            bank=bank,
            queries=queries,
            k=k,
            evaluate=evaluate,
            projection=projection,
            seed=seed,
            log=lambda line: typer.echo(line, err=True),
        )
    typer.echo(f"written: {path} (figures in {run_dir / FIGURE_DIR})")


def register(app: typer.Typer) -> None:
    """Add `report` to the `contrastkit` command."""
    app.command()(report)
