"""The `contrastkit finetune` command: transfer a run's encoder to a labelled dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_output import DEVICE_HELP, AsJson, Progress, notice, print_json
from contrastkit.errors import ConfigError
from contrastkit.progress import progress_bars

Opt = typer.Option


def _floats(text: str, option: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{option} takes numbers separated by commas, got {text!r}") from None


def finetune(
    run_dir: Annotated[Path, typer.Argument(help="a run folder from `contrastkit train`")],
    dataset: Annotated[str, Opt(help="a labelled named dataset or folder of the run's modality")],
    labels: Annotated[
        str, Opt(help="shares of the training labels, comma-separated")
    ] = "0.01,0.1,1",
    seeds: Annotated[int, Opt(help="repeats (label subsets, inits, batches); mean ± std")] = 1,
    steps: Annotated[
        int | None, Opt(help="fine-tuning steps per run (default: the run's eval.fine_tune_steps)")
    ] = None,
    lr: Annotated[
        str, Opt(help="fine-tuning learning rates tried, chosen on validation")
    ] = "3e-3,1e-3,3e-4",
    batch_size: Annotated[int, Opt(help="fine-tuning batch size")] = 128,
    threads: Annotated[int | None, Opt(help="CPU threads")] = None,
    device: Annotated[str, Opt(help=DEVICE_HELP)] = "auto",
    output: Annotated[
        Path | None,
        Opt("--output", "-o", help="JSON file (default RUN_DIR/finetune-<dataset>.json)"),
    ] = None,
    as_json: AsJson = False,
    progress: Progress = None,
) -> None:
    """Fine-tune and linearly probe a run's encoder on a labelled dataset with a share of
    its labels, against the same architecture from random init, in one table."""
    from contrastkit.pipeline.finetune_run import finetune as run_finetune
    from contrastkit.train.devices import torch_threads

    with torch_threads(threads), progress_bars(progress):  # threads restored after
        result = run_finetune(
            run_dir, dataset, shares=_floats(labels, "--labels"), seeds=seeds, steps=steps,
            lrs=_floats(lr, "--lr"), batch_size=batch_size, output=output,
            log=lambda line: typer.echo(line, err=True), device=device,
        )  # fmt: skip
    if not as_json:
        typer.echo(result.table())
    for note in result.notes:
        notice(note, as_json)
    replaced = " (replacing the earlier results of this dataset)" if result.replaced else ""
    notice(f"written: {result.path}{replaced}", as_json)
    if as_json:  # the file's document: {"rows", "settings"}, as eval.json
        print_json(json.loads(result.path.read_text()))


def register(app: typer.Typer) -> None:
    """Add `finetune` to the `contrastkit` command."""
    app.command()(finetune)
