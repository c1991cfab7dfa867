"""The `evaluate` and `embed` commands, and the evaluation table `train` prints at its end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from contrastkit.cli_output import DEVICE_HELP, AsJson, Progress, notice, print_json
from contrastkit.errors import ContrastkitError
from contrastkit.progress import bars_shown, progress_bars

Opt = typer.Option


def evaluation(
    run_dir: Path, *, baselines: bool, linear: bool, device: str, as_json: bool, train: bool
) -> dict[str, Any] | None:
    """Evaluate a run, print its table (or nothing with `as_json`) and return eval.json's
    document {"rows", "settings"}; at the end of `train`, a failed evaluation is one
    notice and None instead of an error."""
    from contrastkit.evaluate.report import format_records
    from contrastkit.pipeline.evaluate_run import evaluate as run_evaluate

    try:
        rows = run_evaluate(run_dir, baselines=baselines, linear=linear, device=device)
    except ContrastkitError as exc:
        if not train:
            raise
        notice(f"no evaluation: {exc}", as_json)
        return None
    written = run_dir / "eval.json"
    document = json.loads(written.read_text()) if written.is_file() else {"rows": rows}
    if not as_json:
        typer.echo(format_records(rows))
    if document.get("knn_protocol"):
        notice(f"knn_top1: {document['knn_protocol']}", as_json)
    notice(f"written: {run_dir / 'eval.json'}", as_json)
    return document


def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a run folder from `contrastkit train`")],
    baselines: Annotated[bool, Opt(help="also score raw inputs and a random-init encoder")] = True,
    linear: Annotated[bool, Opt(help="also fit a linear probe (labelled data)")] = True,
    device: Annotated[str, Opt(help=DEVICE_HELP)] = "auto",
    as_json: AsJson = False,
    progress: Progress = None,
) -> None:
    """Score a trained encoder on the evaluation its data allows (kNN and linear probe,
    retrieval, link prediction, zero-shot, ranking), with baselines in the same table."""
    with progress_bars(progress):
        document = evaluation(
            run_dir, baselines=baselines, linear=linear, device=device, as_json=as_json,
            train=False,
        )  # fmt: skip
    if as_json:
        print_json(document)


def embed(
    run_dir: Annotated[
        Path,
        typer.Argument(help="a run folder from `contrastkit train`, a text model folder or minilm"),
    ],
    output: Annotated[Path, Opt("--output", "-o", help="file to write (.npz)")],
    dataset: Annotated[
        str | None, Opt(help="another dataset, folder or file, read like the run's data")
    ] = None,
    split: Annotated[str, Opt(help="the run's train or test split")] = "train",
    device: Annotated[str, Opt(help=DEVICE_HELP)] = "auto",
    progress: Progress = None,
) -> None:
    """Write embeddings and item ids (and labels or texts) to an .npz file."""
    from contrastkit.pipeline.embed_run import embed as run_embed

    with progress_bars(progress):
        n, dim = run_embed(
            run_dir, output, dataset=dataset, split=split, device=device, progress=bars_shown()
        )
    typer.echo(f"wrote {n} embeddings of size {dim} to {output}")


def register(app: typer.Typer) -> None:
    """Add `evaluate` and `embed` to the `contrastkit` command."""
    app.command()(evaluate)
    app.command()(embed)
