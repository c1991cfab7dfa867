"""The `contrastkit tune-views` command: search view strengths by short proxy trainings
scored on a validation split of the training items (`contrastkit.pipeline.tune_views`)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_catalog import overrides as _overrides
from contrastkit.cli_output import AsJson, notice, print_json
from contrastkit.errors import ConfigError, ContrastkitError

Opt = typer.Option


def base_config(dataset: str, config: Path | None, overrides: dict, budget: float):
    """The config `contrastkit train --dataset DATASET [--config RECIPE]` would use (its
    data-aware defaults included); with no budget anywhere, `train.max_time` = `budget`.

    A budget the data-aware defaults chose (e.g. 200 epochs or 10 minutes) is kept as its
    time alone: best.yaml then trains for a time, so `train --config best.yaml --max-time
    T` trains for T as `train --dataset DATASET --max-time T` does, not for T or 200
    epochs, whichever ends first (which stopped 288-image sets after a minute)."""
    from contrastkit.pipeline.settings import load_train_config

    given = {**overrides, "data.dataset": dataset}
    try:
        base, choices = load_train_config(config, given)
    except ConfigError:  # no budget given: best.yaml trains as long as the search ran
        return load_train_config(config, {"train.max_time": budget, **given})[0]
    if any("train.max_time" in choice.values for choice in choices):
        base.train.epochs, base.train.steps = None, None
    return base


def tune_views(
    dataset: Annotated[str, typer.Argument(help="a named dataset or a file or folder")],
    config: Annotated[
        Path | None, Opt("--config", "-c", help="the recipe to start from (default: as train)")
    ] = None,
    budget: Annotated[str, Opt(help="wall-clock budget of the whole search: 90s, 10m, 1h")] = "10m",
    seed: Annotated[int | None, Opt(help="random seed (runs and the validation split)")] = None,
    output: Annotated[
        Path | None, Opt("--output", "-o", help="output folder (default runs/tune-<data>-<time>)")
    ] = None,
    set_: Annotated[
        list[str] | None, Opt("--set", help="any config key: --set train.batch_size=128")
    ] = None,
    group: Annotated[
        str | None,
        Opt(
            help="regex on image paths naming each image's group (first capture group); a "
            "group stays on one side of the validation split, e.g. one font's letters"
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Search view strengths (crop, flip, colour, blur; text edits; audio masks) by short
    proxy trainings scored on a validation split of the training items; write best.yaml,
    tune.json, tune.md and tune.png."""
    from contrastkit.config import parse_duration
    from contrastkit.pipeline.tune_views import tune_views as run_search
    from contrastkit.report.tune import write_tune_folder

    try:
        seconds = parse_duration(budget)
    except ValueError as exc:
        raise ContrastkitError(f"--budget {exc}") from None
    assert seconds is not None
    base = base_config(dataset, config, _overrides(set_, **{"train.seed": seed}), seconds)
    name = re.sub(r"[^\w.-]+", "", Path(base.data.dataset).stem) or "data"
    out = output or Path("runs") / f"tune-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and any(out.iterdir()):
        raise ContrastkitError(f"output folder {out} is not empty; choose another with -o")
    result = run_search(base, seconds, out, log=lambda line: notice(line, as_json), group=group)
    notes = write_tune_folder(result, out, budget_seconds=seconds, seed=base.train.seed)
    for note in notes:
        notice(note, as_json)
    best = result.trials[result.best_index]
    notice(f"best: trial {best.index} ({best.label}); train with "
           f"`contrastkit train --config {out / 'best.yaml'}`", as_json)  # fmt: skip
    written = f"written: {out}/best.yaml, tune.json, tune.md" + ("" if notes else ", tune.png")
    notice(written, as_json)
    if as_json:  # the search's record, as tune.json holds it
        import json

        print_json(json.loads((out / "tune.json").read_text()))


def register(app: typer.Typer) -> None:
    """Add `tune-views` to the `contrastkit` command."""
    app.command("tune-views")(tune_views)
