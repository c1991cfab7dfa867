"""The `contrastkit` command: train (every modality), evaluate, embed, and the catalog
(datasets, methods, recipes, config), index, recommend, report, finetune, bench, export
and tune-views commands (cli_*.py)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from contrastkit.cli_bench import register as register_bench_command
from contrastkit.cli_catalog import choice_lines
from contrastkit.cli_catalog import overrides as _overrides
from contrastkit.cli_catalog import register as register_catalog_commands
from contrastkit.cli_evaluate import evaluation
from contrastkit.cli_evaluate import register as register_evaluate_commands
from contrastkit.cli_export import register as register_export_command
from contrastkit.cli_finetune import register as register_finetune_command
from contrastkit.cli_index import register as register_index_commands
from contrastkit.cli_output import AsJson, Progress, notice, one_spelling, print_json
from contrastkit.cli_recommend import register as register_recommend_commands
from contrastkit.cli_report import register as register_report_command
from contrastkit.cli_tune import register as register_tune_command
from contrastkit.errors import ContrastkitError, MissingExtraError
from contrastkit.progress import bars_shown, progress_bars

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Contrastive and self-supervised representation learning.",
)

Opt = typer.Option


def package_version() -> str:
    """The installed distribution's version, else the package's own `__version__`."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("contrastkit")
    except PackageNotFoundError:
        from contrastkit import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"contrastkit {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        Opt("--version", callback=_print_version, is_eager=True, help="print the version, exit"),
    ] = False,
) -> None:
    """Contrastive and self-supervised representation learning."""


@app.command()
def train(
    config: Annotated[
        Path | None,
        Opt("--config", "-c", help="a YAML file or a packaged recipe (`contrastkit recipes`)"),
    ] = None,
    dataset: Annotated[
        str | None, Opt(help="a named dataset (`contrastkit datasets`) or a file or folder")
    ] = None,
    modality: Annotated[
        str | None,
        Opt(
            help="image, text, audio, graph, table, image-text, interactions "
            "(default: from the dataset)"
        ),
    ] = None,
    method: Annotated[str | None, Opt(help="training method (see `contrastkit methods`)")] = None,
    model: Annotated[str | None, Opt(help="text: minilm, scratch or a model folder")] = None,
    backbone: Annotated[
        str | None,
        Opt(help="images: compact_cnn, resnet18/34/50, torchvision:NAME, timm:NAME or a HF folder"),
    ] = None,
    image_size: Annotated[int | None, Opt(help="images: resize to this size")] = None,
    data_dir: Annotated[str | None, Opt(help="where a named dataset's files are")] = None,
    batch_size: Annotated[int | None, Opt(help="items per step")] = None,
    epochs: Annotated[float | None, Opt(help="budget in epochs")] = None,
    steps: Annotated[int | None, Opt(help="budget in optimiser steps")] = None,
    max_time: Annotated[
        str | None, Opt(help="wall-clock budget: 90 (seconds), 90s, 10m, 1h")
    ] = None,
    optimizer: Annotated[str | None, Opt(help="sgd, lars or adamw")] = None,
    lr: Annotated[float | None, Opt(help="peak learning rate")] = None,
    temperature: Annotated[float | None, Opt(help="temperature, for methods that have one")] = None,
    precision: Annotated[str | None, Opt(help="auto, fp32, bf16, fp16")] = None,
    device: Annotated[
        str | None, Opt(help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    ] = None,
    seed: Annotated[int | None, Opt(help="random seed")] = None,
    threads: Annotated[int | None, Opt(help="CPU threads")] = None,
    output: Annotated[
        str | None, Opt("--output", "-o", help="run folder (default runs/<method>-<data>-<time>)")
    ] = None,
    run_dir: Annotated[str | None, Opt("--run-dir", hidden=True, help="old name of -o")] = None,
    set_: Annotated[
        list[str] | None, Opt("--set", help="any config key: --set optim.warmup=0.1")
    ] = None,
    resume: Annotated[Path | None, Opt(help="continue the run in this folder")] = None,
    overwrite: Annotated[
        bool, Opt(help="replace the run in the --output folder (its files are removed first)")
    ] = False,
    allow_config_change: Annotated[
        bool, Opt(help="with --resume: accept flags that change more than budget and device")
    ] = False,
    logger: Annotated[
        list[str] | None,
        Opt(
            help="also log to tensorboard, wandb or mlflow (repeat it or give a comma list; "
            "adds to train.loggers, csv and tensorboard by default)"
        ),
    ] = None,
    nproc: Annotated[
        int,
        Opt(
            help="processes on this machine (one per GPU, or sharing the CPU); the batch is "
            "split between them"
        ),
    ] = 1,
    evaluate: Annotated[bool, Opt(help="print the evaluation table at the end")] = True,
    report: Annotated[
        bool, Opt(help="write RUN_DIR/report.html after the evaluation (needs --evaluate)")
    ] = True,
    as_json: AsJson = False,
    progress: Progress = None,
) -> None:
    """Train an encoder on any modality (SimCLR by default; --method picks another), then
    evaluate it against baselines and write the HTML report."""
    from contrastkit.pipeline.settings import load_train_config, read_run_config

    overrides = _overrides(
        set_,
        **{
            "data.dataset": dataset,
            "data.modality": modality,
            "data.data_dir": data_dir,
            "data.image_size": image_size,
            "method.name": method,
            "model.name": model,
            "model.backbone": backbone,
            "train.batch_size": batch_size,
            "train.epochs": epochs,
            "train.steps": steps,
            "train.max_time": max_time,
            "optim.optimizer": optimizer,
            "optim.lr": lr,
            "method.temperature": temperature,
            "train.precision": precision,
            "train.device": device,
            "train.seed": seed,
            "train.threads": threads,
        },
    )
    run_dir = one_spelling("-o/--output", output, "--run-dir", run_dir)
    announce: list[str] = []  # data-aware defaults without a recipe, printed once read
    if resume is None:
        cfg, choices = load_train_config(config, {**overrides, "train.run_dir": run_dir})
        announce = choice_lines(cfg.data.dataset, choices)
        if logger:
            cfg.train.loggers = _with_loggers(cfg.train.loggers, logger)
    elif config is not None or run_dir is not None or overwrite:
        raise ContrastkitError(
            "--resume continues a run with its own config.yaml and folder; give changes as "
            "flags or --set, without --config, --output or --overwrite"
        )
    elif logger:
        raise ContrastkitError(
            "--logger applies to a new run; a resumed run keeps the loggers of its config.yaml"
        )
    else:  # the run's config with the flags given; checked against config.yaml in train
        cfg = read_run_config(resume, overrides) if overrides else None
    folder = {"overwrite": overwrite, "allow_config_change": allow_config_change,
              "announce": announce}  # fmt: skip
    with progress_bars(progress):
        _train_and_report(cfg, resume, nproc, device, folder, evaluate, report, as_json)


def _train_and_report(
    cfg: Any,
    resume: Path | None,
    nproc: int,
    device: str | None,
    folder: dict[str, Any],
    evaluate: bool,
    report: bool,
    as_json: bool,
) -> None:
    """Train (in `nproc` processes), then evaluate and write the report; print the summary
    and the table, or one JSON document {"run_dir", "summary", "evaluation", "report"}."""
    from contrastkit.pipeline.train_run import train as run_train

    progress = bars_shown()
    try:  # typer turns a KeyboardInterrupt into a bare exit; report it here
        if nproc > 1:
            result, out_dir = _spawned(cfg, nproc, resume, progress, device, folder)
        elif resume is not None:
            result, out_dir = run_train(
                cfg, run_dir=resume, resume=True, progress=progress, device=device, **folder
            )
        else:
            result, out_dir = run_train(cfg, progress=progress, **folder)
    except KeyboardInterrupt as exc:
        _report_interrupt(exc)
    knn = "" if result.knn_accuracy is None else f", monitor kNN {result.knn_accuracy:.3f}"
    final = result.final_loss
    loss = f"{final:.3f}" if final is not None and math.isfinite(final) else "not finite"
    notice(
        f"trained {result.steps} steps ({result.epochs:.2f} epochs) "
        f"in {result.train_seconds:.0f} s, "
        f"{result.items_per_second:.0f} items/s, final loss {loss}{knn}",
        as_json,
    )
    notice(f"run folder: {out_dir}", as_json)
    document = None
    if evaluate:  # on the training device (as given for a resumed run, else as configured)
        from contrastkit.pipeline.settings import read_run_config

        where = device or read_run_config(out_dir).train.device
        document = evaluation(
            out_dir, baselines=True, linear=True, device=where, as_json=as_json, train=True
        )
    from contrastkit.report import REPORT_FILE, build_report, report_hint

    if evaluate and report:
        try:
            build_report(out_dir, evaluate=False)
        except MissingExtraError as exc:  # training and evaluation are done; say what is not
            notice(f"no report: {exc}", as_json)
    notice(report_hint(out_dir), as_json)
    if as_json:
        html = out_dir / REPORT_FILE
        summary = json.loads((out_dir / "summary.json").read_text())
        print_json({"run_dir": str(out_dir), "summary": summary, "evaluation": document,
                    "report": str(html) if html.is_file() else None})  # fmt: skip


def _with_loggers(configured: list[str], given: list[str]) -> list[str]:
    """train.loggers plus the --logger names (each may be a comma list), checked."""
    from contrastkit.train.loggers import check_loggers

    names = [n.strip() for text in given for n in text.split(",") if n.strip()]
    check_loggers(names, where="--logger")
    return [*configured, *(n for n in names if n not in configured)]


def _spawned(
    cfg: Any,
    nproc: int,
    resume: Path | None,
    progress: bool,
    device: str | None,
    folder: dict[str, Any],
) -> tuple[Any, Path]:
    """Train in `nproc` local processes; the summary is read back from the run folder."""
    import json
    from types import SimpleNamespace

    import torch.multiprocessing as mp

    from contrastkit.pipeline.launch import spawn_train
    from contrastkit.pipeline.runs import new_run_dir

    out_dir = resume if resume is not None else new_run_dir(cfg)
    try:
        spawn_train(
            cfg, nproc, out_dir, resume=resume is not None, progress=progress, device=device,
            **folder,
        )  # fmt: skip
    except mp.ProcessRaisedException as exc:
        last = str(exc).strip().splitlines()[-1]
        raise ContrastkitError(f"a training process failed: {last}") from None
    summary = json.loads((Path(out_dir) / "summary.json").read_text())
    return SimpleNamespace(**summary), Path(out_dir)


register_evaluate_commands(app)
register_catalog_commands(app)
register_index_commands(app)
register_recommend_commands(app)
register_report_command(app)
register_finetune_command(app)
register_bench_command(app)
register_export_command(app)
register_tune_command(app)


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
