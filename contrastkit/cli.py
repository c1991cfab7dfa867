"""The `contrastkit` command: train, evaluate, embed, train-text, datasets, methods, and the
index commands (see cli_index.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from contrastkit.cli_audio import register as register_audio_commands
from contrastkit.cli_bench import register as register_bench_command
from contrastkit.cli_clip import register as register_clip_commands
from contrastkit.cli_graph import register as register_graph_commands
from contrastkit.cli_index import register as register_index_commands
from contrastkit.cli_recommend import register as register_recommend_commands
from contrastkit.cli_report import register as register_report_command
from contrastkit.cli_table import register as register_table_commands
from contrastkit.errors import ContrastkitError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Contrastive and self-supervised representation learning.",
)

Opt = typer.Option


def _overrides(pairs: list[str] | None, **flags: Any) -> dict[str, Any]:
    from contrastkit.config import parse_override

    out = {key: value for key, value in flags.items() if value is not None}
    for text in pairs or []:
        key, value = parse_override(text)
        out[key] = value
    return out


@app.command()
def train(
    config: Annotated[Path | None, Opt("--config", "-c", help="YAML recipe")] = None,
    dataset: Annotated[str | None, Opt(help="fashion-mnist, digits or an image folder")] = None,
    data_dir: Annotated[str | None, Opt(help="where the dataset's files are")] = None,
    image_size: Annotated[int | None, Opt(help="resize folder images to this size")] = None,
    method: Annotated[str | None, Opt(help="training method (see `contrastkit methods`)")] = None,
    backbone: Annotated[str | None, Opt(help="compact_cnn, resnet18, resnet50")] = None,
    batch_size: Annotated[int | None, Opt(help="items per step")] = None,
    epochs: Annotated[float | None, Opt(help="budget in epochs")] = None,
    steps: Annotated[int | None, Opt(help="budget in optimiser steps")] = None,
    max_time: Annotated[str | None, Opt(help="wall-clock budget: 90s, 10m, 1h")] = None,
    optimizer: Annotated[str | None, Opt(help="sgd, lars or adamw")] = None,
    lr: Annotated[float | None, Opt(help="peak learning rate")] = None,
    temperature: Annotated[float | None, Opt(help="temperature, for methods that have one")] = None,
    precision: Annotated[str | None, Opt(help="auto, fp32, bf16, fp16")] = None,
    seed: Annotated[int | None, Opt(help="random seed")] = None,
    threads: Annotated[int | None, Opt(help="CPU threads")] = None,
    run_dir: Annotated[
        str | None, Opt(help="run folder (default runs/<method>-<data>-<time>)")
    ] = None,
    set_: Annotated[
        list[str] | None, Opt("--set", help="any config key: --set optim.warmup=0.1")
    ] = None,
    resume: Annotated[Path | None, Opt(help="continue the run in this folder")] = None,
    nproc: Annotated[
        int, Opt(help="processes on this machine (gloo); the batch is split between them")
    ] = 1,
    evaluate: Annotated[bool, Opt(help="print the evaluation table at the end")] = True,
    report: Annotated[
        bool, Opt(help="write RUN_DIR/report.html after the evaluation (needs --evaluate)")
    ] = True,
    progress: Annotated[bool, Opt(help="show a progress bar")] = True,
) -> None:
    """Train an encoder (SimCLR by default; --method picks another), then evaluate it
    against baselines and write the HTML report."""
    from contrastkit.config import load_config
    from contrastkit.pipeline.train_run import train as run_train

    cfg = None
    if resume is None:
        cfg = load_config(
            config,
            _overrides(
                set_,
                **{
                    "data.dataset": dataset,
                    "data.data_dir": data_dir,
                    "data.image_size": image_size,
                    "method.name": method,
                    "model.backbone": backbone,
                    "train.batch_size": batch_size,
                    "train.epochs": epochs,
                    "train.steps": steps,
                    "train.max_time": max_time,
                    "optim.optimizer": optimizer,
                    "optim.lr": lr,
                    "method.temperature": temperature,
                    "train.precision": precision,
                    "train.seed": seed,
                    "train.threads": threads,
                    "train.run_dir": run_dir,
                },
            ),
        )
    try:  # typer turns a KeyboardInterrupt into a bare exit; report it here
        if nproc > 1:
            result, out_dir = _spawned(cfg, nproc, resume, progress)
        elif resume is not None:
            result, out_dir = run_train(None, run_dir=resume, resume=True, progress=progress)  # type: ignore[arg-type]
        else:
            result, out_dir = run_train(cfg, progress=progress)
    except KeyboardInterrupt as exc:
        _report_interrupt(exc)
    knn = "" if result.knn_accuracy is None else f", monitor kNN {100 * result.knn_accuracy:.1f}%"
    typer.echo(
        f"trained {result.steps} steps ({result.epochs:.2f} epochs) "
        f"in {result.train_seconds:.0f} s, "
        f"{result.items_per_second:.0f} items/s, final loss {result.final_loss:.3f}{knn}"
    )
    typer.echo(f"run folder: {out_dir}")
    if evaluate:
        _print_evaluation(out_dir, baselines=True, linear=True)
    from contrastkit.report import build_report, report_hint

    if evaluate and report:
        build_report(out_dir, evaluate=False)
    typer.echo(report_hint(out_dir))


def _spawned(cfg: Any, nproc: int, resume: Path | None, progress: bool) -> tuple[Any, Path]:
    """Train in `nproc` local processes; the summary is read back from the run folder."""
    import json
    from types import SimpleNamespace

    import torch.multiprocessing as mp

    from contrastkit.pipeline.launch import spawn_train
    from contrastkit.pipeline.runs import new_run_dir

    out_dir = resume if resume is not None else new_run_dir(cfg)
    try:
        spawn_train(cfg, nproc, out_dir, resume=resume is not None, progress=progress)
    except mp.ProcessRaisedException as exc:
        last = str(exc).strip().splitlines()[-1]
        raise ContrastkitError(f"a training process failed: {last}") from None
    summary = json.loads((Path(out_dir) / "summary.json").read_text())
    return SimpleNamespace(**summary), Path(out_dir)


def _print_evaluation(run_dir: Path, baselines: bool, linear: bool) -> None:
    from contrastkit.evaluate.report import format_table
    from contrastkit.pipeline.evaluate_run import evaluate as run_evaluate

    try:
        rows = run_evaluate(run_dir, baselines=baselines, linear=linear)
    except ContrastkitError as exc:
        typer.echo(f"no evaluation: {exc}")
        return
    typer.echo(format_table(rows))
    typer.echo(f"written: {run_dir / 'eval.json'}")


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a run folder from `contrastkit train`")],
    baselines: Annotated[bool, Opt(help="also score raw pixels and a random-init encoder")] = True,
    linear: Annotated[bool, Opt(help="also fit a linear probe")] = True,
) -> None:
    """kNN and linear-probe accuracy of a trained encoder on the test split, with baselines."""
    from contrastkit.evaluate.report import format_table
    from contrastkit.pipeline.evaluate_run import evaluate as run_evaluate

    rows = run_evaluate(run_dir, baselines=baselines, linear=linear)
    typer.echo(format_table(rows))
    typer.echo(f"written: {run_dir / 'eval.json'}")


@app.command()
def embed(
    run_dir: Annotated[
        Path, typer.Argument(help="a run folder (train or train-text), a model folder or minilm")
    ],
    output: Annotated[Path, Opt("--output", "-o", help="file to write (.npz)")],
    dataset: Annotated[
        str | None,
        Opt(help="dataset name or image folder (default: the run's); a text file for text"),
    ] = None,
    split: Annotated[str, Opt(help="train or test (named datasets)")] = "train",
    column: Annotated[str | None, Opt(help="text files: the column holding the texts")] = None,
) -> None:
    """Write embeddings and item ids (and labels or texts) to an .npz file."""
    from contrastkit.pipeline.embed_run import embed as run_embed

    columns = {"anchor": column} if column else None
    n, dim = run_embed(run_dir, output, dataset=dataset, split=split, columns=columns)
    typer.echo(f"wrote {n} embeddings of size {dim} to {output}")


def _columns(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        role, sep, name = part.partition("=")
        if not sep:
            raise ContrastkitError(
                f"--columns {text!r}: expected role=name pairs, e.g. anchor=query"
            )
        out[role.strip()] = name.strip()
    return out


@app.command("train-text")
def train_text(
    data: Annotated[Path, typer.Argument(help=".txt (one text per line), .csv/.tsv or .jsonl")],
    run_dir: Annotated[Path, Opt("--run-dir", "-o", help="run folder to write")],
    model: Annotated[str, Opt(help="minilm, scratch or a local model folder")] = "minilm",
    method: Annotated[str, Opt(help="simcse, mnrl or text_triplet")] = "mnrl",
    columns: Annotated[
        str | None, Opt(help="map roles to columns: anchor=query,positive=doc")
    ] = None,
    batch_size: Annotated[int, Opt(help="texts (or pairs) per step")] = 32,
    steps: Annotated[int | None, Opt(help="budget in optimiser steps")] = None,
    epochs: Annotated[float | None, Opt(help="budget in epochs")] = None,
    max_time: Annotated[str | None, Opt(help="wall-clock budget: 90s, 10m, 1h")] = None,
    lr: Annotated[float | None, Opt(help="peak lr (default 2e-5, scratch 5e-4)")] = None,
    temperature: Annotated[float | None, Opt(help="loss temperature (default 0.05)")] = None,
    precision: Annotated[str, Opt(help="auto, fp32, bf16")] = "auto",
    max_length: Annotated[int, Opt(help="tokens kept per text")] = 128,
    holdout: Annotated[int, Opt(help="pairs held out to score retrieval before/after")] = 500,
    delete_p: Annotated[float, Opt(help="text views: word deletion probability")] = 0.0,
    synonym_p: Annotated[float, Opt(help="text views: WordNet synonym probability")] = 0.0,
    seed: Annotated[int, Opt(help="random seed")] = 0,
    grad_cache_chunk: Annotated[
        int | None, Opt(help="gradient caching: texts per pass (big batches, bounded memory)")
    ] = None,
    resume: Annotated[bool, Opt(help="continue the run in --run-dir")] = False,
    progress: Annotated[bool, Opt(help="show a progress bar")] = True,
) -> None:
    """Train a sentence encoder on texts or pairs; export it for sentence-transformers."""
    from contrastkit.config import parse_duration
    from contrastkit.errors import ConfigError
    from contrastkit.pipeline.text_run import TextRunSettings, train_text_run

    try:
        budget = None if max_time is None else parse_duration(max_time)
    except ValueError as exc:
        raise ConfigError(f"--max-time: {exc}") from None

    settings = TextRunSettings(
        data=str(data),
        model=model,
        method=method,
        columns=_columns(columns),
        batch_size=batch_size,
        lr=lr,
        steps=steps,
        epochs=epochs,
        max_time=budget,
        precision=precision,
        max_length=max_length,
        holdout=holdout,
        temperature=temperature,
        delete_p=delete_p,
        synonym_p=synonym_p,
        seed=seed,
        grad_cache_chunk=grad_cache_chunk,
    )
    summary = train_text_run(settings, run_dir, resume=resume, progress=progress)
    typer.echo(
        f"trained {summary['steps']} steps in {summary['train_seconds']:.0f} s, "
        f"{summary['pairs_per_s']:.1f} items/s, final loss {summary['final_loss']:.3f}"
    )
    for when in ("before", "after"):
        m = summary[f"holdout_{when}"]
        if m:
            typer.echo(
                f"held-out retrieval {when:6s}: recall@1 {m['recall@1']:.3f}  "
                f"recall@10 {m['recall@10']:.3f}  MRR@10 {m['mrr@10']:.3f}"
            )
    typer.echo(f"model (sentence-transformers folder): {run_dir / 'model'}")
    from contrastkit.report import report_hint

    typer.echo(report_hint(run_dir))


@app.command()
def datasets() -> None:
    """List the named datasets."""
    from contrastkit.data.registry import DATASETS

    for name, text in DATASETS.items():
        typer.echo(f"{name:15s} {text}")
    typer.echo(f"{'<folder>':15s} a folder of PNG/JPEG images, flat or one subfolder per class")


@app.command()
def methods(
    keys: Annotated[bool, Opt(help="also list each method's config keys and defaults")] = False,
) -> None:
    """List the training methods, one line each."""
    from contrastkit.methods import IMAGE_TEXT_METHODS, METHODS, TEXT_METHODS
    from contrastkit.methods.params import method_params

    for name, cls in METHODS.items():
        labels = " [uses labels]" if cls.needs_labels else ""
        typer.echo(f"{name:12s} {cls.summary}{labels}")
        if keys:
            for key, (_, default) in method_params(name).items():
                typer.echo(f"{'':14s}method.{key} = {default!r}")
    for name, cls in TEXT_METHODS.items():
        typer.echo(f"{name:12s} {cls.summary} [text: contrastkit train-text]")
    for name, cls in IMAGE_TEXT_METHODS.items():
        typer.echo(f"{name:12s} {cls.summary} [image-text: contrastkit train-clip]")


register_index_commands(app)
register_recommend_commands(app)
register_table_commands(app)
register_graph_commands(app)
register_clip_commands(app)
register_audio_commands(app)
register_report_command(app)
register_bench_command(app)


def _report_interrupt(exc: KeyboardInterrupt) -> None:
    """Say what was saved when training stopped on Ctrl-C or SIGTERM; exit 128 + signal."""
    import signal

    signum = int(getattr(exc, "signum", signal.SIGINT))
    saved = getattr(exc, "checkpoint", None)
    where = f"checkpoint {saved} saved" if saved else "no checkpoint written"
    run = saved.parent.parent if saved else "RUN_DIR"
    name = signal.Signals(signum).name
    typer.echo(f"interrupted ({name}): {where}; continue with --resume {run}", err=True)
    sys.exit(128 + signum)


def main() -> None:
    """Entry point: user mistakes print one sentence and exit with status 2."""
    try:
        app()
    except ContrastkitError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        _report_interrupt(exc)


if __name__ == "__main__":
    main()
