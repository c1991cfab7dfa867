"""The `contrastkit export` command: a run's model in a format other code loads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.export import FORMATS

Opt = typer.Option


def export(
    run_dir: Annotated[Path, typer.Argument(help="a run folder from `contrastkit train`")],
    format_: Annotated[
        str,
        Opt("--format", "-f", help=f"one of: {', '.join(FORMATS)}"),
    ] = "safetensors",
    output: Annotated[
        Path | None, Opt("--output", "-o", help="folder to write (default RUN_DIR/export/FORMAT)")
    ] = None,
) -> None:
    """Export the trained model with its model card (README.md): for contrastkit.load
    (safetensors), ONNX Runtime, TorchScript, torchvision or sentence-transformers."""
    from contrastkit.export import export as run_export

    folder = run_export(run_dir, format_, output)
    files = ", ".join(sorted(p.name for p in folder.iterdir()))
    typer.echo(f"written: {folder} ({files})")


def register(app: typer.Typer) -> None:
    """Add `export` to the `contrastkit` command."""
    app.command()(export)
