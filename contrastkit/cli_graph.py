"""Command for graphs: train-graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_index import _show

Opt = typer.Option


def train_graph(
    data: Annotated[
        str, typer.Argument(help="debian (apt's package graph), or a node .csv (with --edges)")
    ] = "debian",
    edges: Annotated[str | None, Opt(help="edge .csv with source,target columns")] = None,
    method: Annotated[str, Opt(help="any tensor-view method of `contrastkit methods`")] = "simclr",
    steps: Annotated[int | None, Opt(help="training steps")] = None,
    max_time: Annotated[float | None, Opt(help="training seconds")] = None,
    output: Annotated[Path, Opt("--output", "-o", help="run folder to write")] = Path("runs/graph"),
    size: Annotated[int, Opt(help="nodes per ego-subgraph view (K)")] = 16,
    hidden_dim: Annotated[int, Opt(help="width of each GCN layer")] = 256,
    batch_size: Annotated[int, Opt(help="nodes per step")] = 256,
    lr: Annotated[float, Opt(help="AdamW learning rate")] = 2e-3,
    id_column: Annotated[str, Opt(help="csv: node id column")] = "id",
    label_column: Annotated[str, Opt(help="csv: node label column (optional)")] = "label",
    text_column: Annotated[
        str | None, Opt(help="csv: a text column to featurise (else numeric columns)")
    ] = None,
    finetune_steps: Annotated[int, Opt(help="steps of the semi-supervised fine-tuning")] = 200,
    seed: Annotated[int, Opt(help="random seed")] = 0,
    progress: Annotated[bool, Opt(help="show a progress bar")] = True,
    as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Train a GCN encoder on ego-subgraph views of a graph's nodes; score it by a linear
    probe on node labels and by link-prediction AUC on held-out edges, against the raw
    node features and the random-init encoder (plus fine-tuning with 10% / 1% of labels)."""
    from contrastkit.pipeline.graph_run import GraphSettings, run_graph

    if steps is None and max_time is None:
        steps = 500
    settings = GraphSettings(
        size=size, fanout=(size - 1, 3), hidden_dim=hidden_dim, batch_size=batch_size, lr=lr
    )
    summary = run_graph(
        data,
        edges,
        method=method,
        steps=steps,
        max_time=max_time,
        settings=settings,
        output=output,
        finetune_steps=finetune_steps,
        seed=seed,
        progress=progress,
        id_column=id_column,
        label_column=label_column,
        text_column=text_column,
    )
    _show([{**r, "value": round(r["value"], 4)} for r in summary["results"]], as_json)
    typer.echo(
        f"{summary['nodes']} nodes, {summary['edges']} edges ({summary['held_out_edges']} "
        f"held out); {summary['steps']} steps of {method}, loss {summary['first_loss']:.3f} -> "
        f"{summary['final_loss']:.3f}; encoder and summary.json written to {output}"
    )


def register(app: typer.Typer) -> None:
    app.command("train-graph")(train_graph)
