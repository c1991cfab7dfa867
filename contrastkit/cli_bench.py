"""`contrastkit bench`: step-time breakdown and fraction of the matmul peak."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_catalog import overrides
from contrastkit.cli_output import AsJson, Progress, print_json
from contrastkit.progress import progress_bars

Opt = typer.Option


def bench(
    config: Annotated[Path | None, Opt("--config", "-c", help="YAML recipe")] = None,
    dataset: Annotated[str | None, Opt(help="fashion-mnist, digits or an image folder")] = None,
    method: Annotated[str | None, Opt(help="training method")] = None,
    backbone: Annotated[
        str | None, Opt(help="compact_cnn, resnet18/34/50, torchvision:NAME, timm:NAME")
    ] = None,
    batch_size: Annotated[int | None, Opt(help="items per step")] = None,
    precision: Annotated[str | None, Opt(help="auto, fp32, bf16")] = None,
    threads: Annotated[int | None, Opt(help="CPU threads")] = None,
    steps: Annotated[int, Opt(help="timed steps (after 3 warm-up steps)")] = 20,
    set_: Annotated[list[str] | None, Opt("--set", help="any config key: --set k=v")] = None,
    as_json: AsJson = False,
    progress: Progress = None,
) -> None:
    """Time training steps of a recipe: items/s, the share of data, forward, backward and
    optimiser, and the fraction of this machine's measured matmul peak."""
    from contrastkit.pipeline.bench import run_bench
    from contrastkit.pipeline.settings import load_config

    flags = {
        "data.dataset": dataset,
        "method.name": method,
        "model.backbone": backbone,
        "train.batch_size": batch_size,
        "train.precision": precision,
        "train.threads": threads,
        "train.steps": steps,
    }
    cfg = load_config(config, overrides(set_, **flags))
    with progress_bars(progress):
        result = run_bench(cfg, steps=steps)
    if as_json:
        print_json(result.record())
        return
    width = max(len(label) for label, _ in result.rows())
    for label, value in result.rows():
        typer.echo(f"{label:{width}s}  {value}")


def register(app: typer.Typer) -> None:
    """Add `bench` to the `contrastkit` command."""
    app.command()(bench)
