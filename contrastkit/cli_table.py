"""Command for tables: train-table (SCARF views, an MLP encoder, baselines and few-label
evaluation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_index import _show

Opt = typer.Option


def _columns(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def train_table(
    data: Annotated[
        str,
        typer.Argument(help="a named table (credit, churn, hpc, breast-cancer, wine) or a .csv"),
    ] = "credit",
    output: Annotated[Path, Opt("--output", "-o", help="run folder to write")] = Path("runs/table"),
    label: Annotated[str | None, Opt(help="label column (named tables have one)")] = None,
    numeric: Annotated[str | None, Opt(help="comma-separated numeric columns")] = None,
    categorical: Annotated[str | None, Opt(help="comma-separated categorical columns")] = None,
    drop: Annotated[str | None, Opt(help="comma-separated columns to ignore")] = None,
    method: Annotated[str, Opt(help="a tensor-view method (contrastkit methods)")] = "simclr",
    steps: Annotated[int, Opt(help="training steps")] = 1000,
    max_time: Annotated[float | None, Opt(help="training time budget in seconds")] = None,
    batch_size: Annotated[int, Opt(help="rows per step")] = 128,
    lr: Annotated[float, Opt(help="AdamW learning rate")] = 1e-3,
    temperature: Annotated[
        float, Opt(help="temperature of methods that take one (SCARF: 1.0)")
    ] = 1.0,
    corruption_rate: Annotated[float, Opt(help="SCARF: share of features replaced")] = 0.6,
    anchor: Annotated[
        bool, Opt(help="first view is the uncorrupted row (paper) instead of a second corruption")
    ] = True,
    norm: Annotated[str, Opt(help="encoder norm: batchnorm, layernorm or none")] = "batchnorm",
    output_dim: Annotated[int, Opt(help="representation size")] = 256,
    test_fraction: Annotated[float, Opt(help="share of rows held out for evaluation")] = 0.2,
    fractions: Annotated[
        str, Opt(help="label shares for the semi-supervised evaluation, comma-separated")
    ] = "0.01,0.1",
    fine_tune_steps: Annotated[int, Opt(help="steps of each few-label fine-tuning run")] = 300,
    seed: Annotated[int, Opt(help="random seed")] = 0,
    progress: Annotated[bool, Opt(help="show a progress bar")] = True,
    as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Pre-train a table encoder with SCARF views and score it with linear probes (raw
    features, random-init encoder, trained encoder) and with few labels (fine-tune vs
    scratch); writes encoder.safetensors, encoder.json, schema.json and summary.json."""
    from contrastkit.data.tabular_datasets import load_table_splits
    from contrastkit.errors import ConfigError
    from contrastkit.pipeline.table_run import (
        TableTrainConfig,
        evaluate_table_encoder,
        save_table_run,
        train_table_encoder,
    )

    try:
        shares = [float(f) for f in fractions.split(",") if f.strip()]
    except ValueError:
        raise ConfigError(
            f"--fractions must be comma-separated numbers, got {fractions!r}"
        ) from None
    splits = load_table_splits(
        data,
        label=label,
        numeric=_columns(numeric),
        categorical=_columns(categorical),
        drop=_columns(drop) or (),
        test_fraction=test_fraction,
        seed=seed,
    )
    cfg = TableTrainConfig(
        method=method,
        steps=steps,
        max_time=max_time,
        batch_size=batch_size,
        lr=lr,
        temperature=temperature,
        corruption_rate=corruption_rate,
        anchor=anchor,
        norm=norm,
        output_dim=output_dim,
        seed=seed,
    )
    encoder, initial, fit = train_table_encoder(splits, cfg, progress=progress)
    scores = evaluate_table_encoder(
        encoder, initial, splits, fractions=shares, fine_tune_steps=fine_tune_steps, seed=seed
    )
    summary = {
        "data": splits.name,
        "train_rows": len(splits.train_x),
        "test_rows": len(splits.test_x),
        "numeric": splits.schema.numeric,
        "categorical": splits.schema.categorical,
        "steps": fit.steps,
        "train_seconds": fit.train_seconds,
        "first_loss": fit.history[0]["loss"] if fit.history else None,
        "final_loss": fit.final_loss,
        "collapsed_at_step": fit.collapsed_at_step,
        **scores,
    }
    save_table_run(output, encoder, splits.schema, cfg, summary)
    rows = [
        {"system": k, "test_accuracy": round(v, 4)}
        for k, v in scores.get("linear_probe", {}).items()
    ]
    rows += [
        {
            "system": f"{r['protocol']} ({r['labels']} labels)",
            "test_accuracy": round(r["accuracy"], 4),
        }
        for r in scores.get("semi_supervised", [])
    ]
    if rows:
        _show(rows, as_json)
    typer.echo(
        f"{fit.steps} steps in {fit.train_seconds:.0f}s, loss {summary['first_loss']:.3f} -> "
        f"{fit.final_loss:.3f}; run written to {output}"
    )


def register(app: typer.Typer) -> None:
    app.command("train-table")(train_table)
