"""`contrastkit train`: any modality, from a validated config to a finished run folder.

The device, the process group (torchrun or `--nproc`) and the data source are chosen here,
once for every modality; the modality adapter supplies data, encoder, views and exports.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from contrastkit.config import Config
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.files import write_json
from contrastkit.methods.base import Method
from contrastkit.methods.registry import METHODS
from contrastkit.modalities.base import Modality, Prepared
from contrastkit.modalities.registry import get_modality
from contrastkit.nn.sync_batchnorm import convert_sync_batchnorm
from contrastkit.pipeline.card import write_card
from contrastkit.pipeline.preprocess import write_preprocess
from contrastkit.pipeline.runs import (
    check_resume_config,
    claim_run_dir,
    new_run_dir,
    write_config,
)
from contrastkit.pipeline.settings import read_run_config
from contrastkit.train import ddp
from contrastkit.train.devices import backend_for, resolve_device, torch_threads
from contrastkit.train.fit_result import FitResult
from contrastkit.train.loggers import check_loggers
from contrastkit.train.trainer import Trainer

__all__ = ["build_method", "prepare_data", "train", "trainer_for"]


def prepare_data(
    modality: Modality, cfg: Config, run_dir: Path, given: Prepared | None = None
) -> tuple[Config, Prepared]:
    """The modality's data (or `given`, already prepared), checked against the method,
    and the config resolved on it.

    The run folder is made only once the data has loaded and fits the method; under
    torch.distributed rank 0 prepares first and writes the modality's artifacts (such as
    a text run's starting encoder; several machines need a shared run folder), then the
    others read them. A mistake found on rank 0 stops every process with the same message.
    """
    data, problem = None, None
    if ddp.is_main():
        try:
            data = given if given is not None else modality.prepare(cfg, run_dir)
            check_labels(cfg, data)
            run_dir.mkdir(parents=True, exist_ok=True)
            modality.write_artifacts(cfg, data, run_dir)
        except ContrastkitError as exc:
            problem = exc
    message = ddp.broadcast_object(None if problem is None else str(problem))
    if problem is not None:
        raise problem
    if message is not None:
        raise ContrastkitError(message)
    if data is None:
        data = given if given is not None else modality.prepare(cfg, run_dir)
    return modality.resolve(cfg, data), data


def check_labels(cfg: Config, data: Prepared) -> None:
    """Refuse, before training, a method that uses labels on data without them."""
    name = cfg.method.name
    uses_labels = cfg.method.params.get("use_labels", METHODS[name].needs_labels)
    if uses_labels and data.labels is None:
        raise ConfigError(
            f"config key 'method.name': {name} uses labels, but the dataset "
            f"{cfg.data.dataset!r} has none ({data.description})"
        )


def build_method(
    cfg: Config,
    modality: Modality,
    data: Prepared,
    *,
    gather: bool = False,
    device: torch.device | None = None,
) -> Method:
    """The configured method around a new encoder (seeded by the caller). With
    `model.sync_batchnorm`, BatchNorm takes its statistics over every process's batch:
    torch's SyncBatchNorm on CUDA, contrastkit's (which also runs on gloo) elsewhere."""
    method = modality.new_method(cfg, data, gather=gather)
    if cfg.model.sync_batchnorm:  # plain BatchNorm on one process; global statistics on N
        if device is not None and device.type == "cuda":
            method = torch.nn.SyncBatchNorm.convert_sync_batchnorm(method)
        else:
            convert_sync_batchnorm(method)
    return method


def trainer_for(
    cfg: Config,
    method: Method,
    *,
    monitor=None,
    run_dir: Path | None = None,
    progress: bool = True,
    device: torch.device | None = None,
) -> Trainer:
    """A `Trainer` with the config's optimiser, schedule, budget and run settings."""
    t, o = cfg.train, cfg.optim
    return Trainer(
        method, optimizer=o.optimizer, lr=o.lr, weight_decay=o.weight_decay,
        momentum=o.momentum, warmup=o.warmup, final_lr_ratio=o.final_lr_ratio,
        batch_size=t.batch_size, epochs=t.epochs, steps=t.steps, max_time=t.max_time,
        precision=t.precision, channels_last=t.channels_last, seed=t.seed, run_dir=run_dir,
        checkpoint_every=t.checkpoint_every, keep_checkpoints=t.keep_checkpoints,
        monitor=monitor, monitor_every=t.monitor_every, log_every=t.log_every,
        progress=progress, config=cfg.model_dump(mode="json"),
        grad_cache_chunk=t.grad_cache_chunk, max_bad_steps=t.max_bad_steps, compile=t.compile,
        device=device if device is not None else t.device, loggers=t.loggers,
    )  # fmt: skip


_NOT_RECORDED = {"train.device", "train.threads", "train.run_dir"}  # of this machine only


def _claim(run_dir: Path, overwrite: bool) -> None:
    """`claim_run_dir` on rank 0; a refusal stops every process with the same sentence."""
    problem = None
    if ddp.is_main():
        try:
            claim_run_dir(run_dir, overwrite=overwrite)
        except ConfigError as exc:
            problem = str(exc)
    problem = ddp.broadcast_object(problem)
    if problem is not None:
        raise ConfigError(problem)


def _describe(device: torch.device) -> str:
    """ "cpu", or the GPU's name with its index ("cuda:0 (NVIDIA A100)"), for the log."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def train(
    cfg: Config | None,
    *,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    stop_at_step: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    allow_config_change: bool = False,
    data: Prepared | None = None,
    announce: Sequence[str] = (),
) -> tuple[FitResult, Path]:
    """Train the configured method; with `resume`, continue the run in `run_dir` exactly.

    A new run needs a missing or empty folder, or `overwrite` to empty a folder that holds
    a run. A resume reads the run's config.yaml; a `cfg` given with it may change the budget,
    device and threads, and other keys only with `allow_config_change` (then recorded in
    config.yaml). `device` replaces `train.device` (e.g. to resume on another machine).
    `data`: the modality's data already prepared for `cfg` (e.g. `tune-views` trains on
    the training items without its validation split); default: read by the modality.
    `announce` lines (such as the data-aware choices) are printed on rank 0 once the data
    is read and fits the method, so that a mistake found before is the only line.
    Returns the fit summary and the run folder (see `contrastkit.pipeline.runs`).

    Raises:
        ConfigError: the folder is taken, or a resume changes the config without leave.
    """
    changed: list[str] = []
    if resume:
        if run_dir is None:
            raise ValueError("resume needs run_dir")
        saved = read_run_config(run_dir)
        cfg = saved.model_copy(deep=True) if cfg is None else cfg
        if device is not None:
            cfg.train.device = device
        changed = check_resume_config(Path(run_dir), saved, cfg, allow_change=allow_config_change)
    if cfg is None:
        raise ValueError("train needs a config (or resume=True with run_dir)")
    if device is not None:
        cfg.train.device = device
    where = resolve_device(cfg.train.device)  # before any work: a missing GPU is one sentence
    check_loggers(cfg.train.loggers)  # and so is a logger whose package is missing
    if where.type == "cuda":
        torch.cuda.set_device(where)
    ddp.init_from_environment(backend_for(where))  # torchrun sets WORLD_SIZE / RANK
    with torch_threads(cfg.train.threads):  # restored after: a library call leaves no trace
        return _run(
            cfg, where, run_dir, changed, resume=resume, progress=progress,
            stop_at_step=stop_at_step, overwrite=overwrite, given=data, announce=announce,
        )  # fmt: skip


def _run(
    cfg: Config,
    where: torch.device,
    run_dir: str | Path | None,
    changed: list[str],
    *,
    resume: bool,
    progress: bool,
    stop_at_step: int | None,
    overwrite: bool,
    given: Prepared | None = None,
    announce: Sequence[str],
) -> tuple[FitResult, Path]:
    """`train` once the config is checked and the process group is up."""
    modality = get_modality(cfg.data.modality)
    run_dir = Path(ddp.broadcast_object(run_dir if run_dir is not None else new_run_dir(cfg)))
    if not resume:
        _claim(run_dir, overwrite)
    cfg, data = prepare_data(modality, cfg, run_dir, given)
    if ddp.is_main() and announce:
        print("\n".join(announce), file=sys.stderr)
    if ddp.is_main() and not resume:
        write_config(run_dir, cfg)
    record = ddp.is_main() and resume and set(changed) - _NOT_RECORDED  # once it can resume

    torch.manual_seed(cfg.train.seed)
    method = build_method(cfg, modality, data, gather=ddp.is_distributed(), device=where)
    trainer = trainer_for(
        cfg, method, monitor=modality.monitor(cfg, data, method), run_dir=run_dir,
        progress=progress, device=where,
    )  # fmt: skip
    if ddp.is_main():
        print(f"training on {_describe(where)}", file=sys.stderr)
    source = modality.batches(cfg, data, method, where)
    result = trainer.fit(
        source, resume=resume, stop_at_step=stop_at_step,
        on_start=(lambda: write_config(run_dir, cfg)) if record else None,
    )  # fmt: skip
    summary = {k: v for k, v in asdict(result).items() if k not in ("history", "run_dir", "paused")}
    summary.update(
        modality=modality.name, method=cfg.method.name, data=data.description,
        skipped_files=data.skipped, world_size=ddp.world_size(), device=str(where),
    )  # fmt: skip
    if ddp.is_main():
        if not result.paused:
            modality.export(method, cfg, data, run_dir)
            write_preprocess(run_dir, cfg, modality, data)  # loading needs no data then
        write_json(run_dir / "summary.json", summary)
        write_card(run_dir)  # README.md; `evaluate` rewrites it with the evaluation table
    return result, run_dir
