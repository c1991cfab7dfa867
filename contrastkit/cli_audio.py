"""Command for audio: train-audio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Opt = typer.Option


def train_audio(
    data: Annotated[
        str,
        typer.Argument(
            help="notes (instrument notes rendered from the GM soundfont), or a folder of "
            ".wav/.flac clips (one subfolder per class, or flat without labels)"
        ),
    ] = "notes",
    output: Annotated[Path, Opt("--output", "-o", help="run folder to write")] = Path("runs/audio"),
    method: Annotated[str, Opt(help="a method of `contrastkit methods` (tensor views)")] = "simclr",
    steps: Annotated[
        int | None, Opt(help="training steps (budget; 300 when no budget is given)")
    ] = None,
    max_time: Annotated[float | None, Opt(help="training seconds (budget)")] = None,
    batch_size: Annotated[int, Opt(help="clips per step")] = 64,
    lr: Annotated[float, Opt(help="AdamW peak learning rate")] = 2e-3,
    sample_rate: Annotated[int, Opt(help="clips are resampled to this rate (Hz)")] = 16000,
    clip_seconds: Annotated[float, Opt(help="folder clips are padded or cropped to this")] = 1.0,
    test_fraction: Annotated[float, Opt(help="labelled folders: share held out per class")] = 0.25,
    seed: Annotated[int, Opt(help="random seed")] = 0,
    progress: Annotated[bool, Opt(help="show a progress bar")] = True,
) -> None:
    """Train an audio encoder (log-mel + small CNN) with a self-supervised method and score
    it: kNN and linear-probe accuracy on held-out clips against raw log-mel statistics and
    the random-init encoder."""
    from contrastkit.errors import ConfigError
    from contrastkit.pipeline.audio_run import AudioRunSettings, train_audio_run

    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if steps is None and max_time is None:
        steps = 300
    settings = AudioRunSettings(
        data=data,
        method=method,
        steps=steps,
        max_time=max_time,
        batch_size=batch_size,
        lr=lr,
        sample_rate=sample_rate,
        clip_seconds=clip_seconds,
        test_fraction=test_fraction,
        seed=seed,
    )
    summary = train_audio_run(settings, output, progress=progress)
    typer.echo(summary["data"])
    if summary["skipped_files"]:
        typer.echo(
            f"skipped {len(summary['skipped_files'])} file(s) that are not readable audio, "
            f"e.g. {summary['skipped_files'][0]}"
        )
    evaluation = summary["evaluation"]
    if evaluation:
        typer.echo(f"{'system':28s} {'kNN':>7s} {'linear':>7s}")
        for system, s in evaluation.items():
            typer.echo(f"{system:28s} {s['knn']:7.3f} {s['linear']:7.3f}")
    else:
        typer.echo("no labels: trained without evaluation")
    typer.echo(
        f"{summary['steps']} steps in {summary['train_seconds']} s, loss "
        f"{summary['first_loss']:.3f} -> {summary['final_loss']:.3f}; run written to {output}"
    )


def register(app: typer.Typer) -> None:
    app.command("train-audio")(train_audio)
