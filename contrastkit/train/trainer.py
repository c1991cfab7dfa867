"""The training loop: budgets, schedule, precision, checkpoints, resume, logs, kNN monitor.

The trainer knows nothing of a method's internals: it draws a batch, makes views, calls
`method.training_step(batch)`, steps the optimiser and calls `method.on_step_end(progress)`.
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm

from contrastkit.data.dataset import ImageDataset
from contrastkit.errors import ContrastkitError
from contrastkit.methods.base import Batch, Method
from contrastkit.train import ddp
from contrastkit.train.batches import BatchSource, ImageBatches
from contrastkit.train.checkpoint import save_weights
from contrastkit.train.collapse import CollapseWatch, collapse_stats
from contrastkit.train.devices import move_batch, resolve_device
from contrastkit.train.fit_result import FitResult, mean_row
from contrastkit.train.grad_cache import cached_step, check_grad_cache
from contrastkit.train.guards import NonFiniteGuard, TrainingInterrupted, interrupt_on_signals
from contrastkit.train.loggers import DEFAULT_LOGGERS, Loggers, open_loggers
from contrastkit.train.monitor import KnnMonitor
from contrastkit.train.optim import build_optimizer, set_lr, warmup_cosine
from contrastkit.train.precision import autocast_dtype
from contrastkit.train.trainer_state import CheckpointedState
from contrastkit.views.pipeline import ImageViews


class Trainer(CheckpointedState):
    """Train a `Method` on an `ImageDataset` with batched tensor views, or on any
    `BatchSource` (texts: `TextBatches`).

    Args:
        method: the method (owns encoder, heads, loss).
        views: turns a uint8 image batch into the method's views (None when `fit` gets a
            `BatchSource`, which makes its own views).
        optimizer: "sgd", "lars" or "adamw".
        lr: peak learning rate (after warmup).
        weight_decay: applied to conv/linear weights, not to biases and norms.
        momentum: for SGD and LARS.
        warmup: fraction of the budget spent in linear warmup.
        final_lr_ratio: lr at the end of the cosine decay, as a fraction of `lr`.
        batch_size: items per step (each gives `views.n_views` views).
        epochs: budget in epochs.
        steps: budget in optimiser steps.
        max_time: budget in seconds of training, excluding monitoring and checkpoint
            writing. Training stops at the first budget reached; the schedule follows
            the furthest of them.
        precision: "auto", "fp32", "bf16", "fp16" (CUDA only).
        channels_last: feed convolutional encoders channels-last tensors (faster on CPU).
        seed: seeds the weights' RNG use, the data order and the views.
        device: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N", "mps" or a
            torch.device. The method, its state and every batch live there; image and audio
            views are made there too.
        run_dir: folder for metrics.csv, checkpoints/ and weights; None keeps nothing.
        loggers: where metrics go besides metrics.csv (`contrastkit.train.loggers`).
        checkpoint_every: steps between checkpoints (one is always written at the end).
        keep_checkpoints: how many checkpoint files to keep.
        monitor: optional kNN monitor run every `monitor_every` epochs and at the end.
        log_every: steps between logged rows; progress: show a progress bar.
        config: resolved configuration stored in checkpoints (plain dict).
        grad_cache_chunk: encode each batch in chunks of this many items with gradient
            caching (`contrastkit.train.grad_cache`), so the batch size is bounded by time,
            not memory; InfoNCE-family methods only; None encodes the batch at once.
        max_bad_steps: a step whose loss or gradient is not finite is skipped: no update,
            normalisation statistics restored, queues and momentum networks untouched
            (`contrastkit.train.rollback`), a `NonFiniteStepWarning`, logged to
            run_dir/bad_steps.jsonl with the batch's positions and ids; this many in a row
            stop the run with `NonFiniteError`, no checkpoint written meanwhile.
        compile: compile the method's networks with `torch.compile` (in place, first steps
            slower while it compiles; needs a C++ compiler on CPU).

    SIGINT (Ctrl-C) and SIGTERM save a checkpoint and raise `TrainingInterrupted`.
    """

    def __init__(
        self,
        method: Method,
        views: ImageViews | None = None,
        *,
        optimizer: str = "sgd",
        lr: float = 0.3,
        weight_decay: float = 1e-4,
        momentum: float = 0.9,
        warmup: float = 0.05,
        final_lr_ratio: float = 0.0,
        batch_size: int = 256,
        epochs: float | None = None,
        steps: int | None = None,
        max_time: float | None = None,
        precision: str = "auto",
        channels_last: bool = False,
        seed: int = 0,
        device: str | torch.device = "auto",
        run_dir: str | Path | None = None,
        checkpoint_every: int = 500,
        keep_checkpoints: int = 2,
        monitor: KnnMonitor | None = None,
        monitor_every: int = 1,
        log_every: int = 10,
        progress: bool = True,
        config: dict | None = None,
        grad_cache_chunk: int | None = None,
        max_bad_steps: int = 3,
        compile: bool = False,
        loggers: tuple[str, ...] | list[str] = DEFAULT_LOGGERS,
    ) -> None:
        if epochs is None and steps is None and max_time is None:
            raise ValueError("set at least one budget: epochs, steps or max_time")
        for name, value in (("epochs", epochs), ("steps", steps), ("max_time", max_time)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {batch_size}")
        check_grad_cache(type(method), grad_cache_chunk, precision)
        self.grad_cache_chunk = grad_cache_chunk
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.method = method.to(self.device)
        if channels_last:
            self.method.to(memory_format=torch.channels_last)
        if compile:  # in place: state_dict keys (checkpoints, exports) stay the same
            for child in self.method.children():
                child.compile()
        self.views = views
        self.optimizer = build_optimizer(method, optimizer, lr, weight_decay, momentum)
        self.base_lr, self.warmup, self.final_lr_ratio = lr, warmup, final_lr_ratio
        self.batch_size = batch_size
        self.epochs, self.steps, self.max_time = epochs, steps, max_time
        self.amp_dtype = autocast_dtype(precision, self.device)
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.amp_dtype == torch.float16
        )
        self.channels_last = channels_last
        self.seed = seed
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.checkpoint_every, self.keep_checkpoints = checkpoint_every, keep_checkpoints
        self.monitor, self.monitor_every = monitor, monitor_every
        self.log_every, self.progress, self.loggers = log_every, progress, loggers
        self.config = config or {}
        # each process draws its own views (rank 0 as a single process would); the generator
        # moves to the device a source makes its views on when `fit` starts
        self.views_rng = torch.Generator().manual_seed(seed + 7919 * ddp.rank())
        self.step_module: torch.nn.Module | None = None  # DDP around the method, or None
        self.step = 0
        self.elapsed = 0.0
        self.history: list[dict] = []
        self.collapse = CollapseWatch()
        bad_log = self.run_dir / "bad_steps.jsonl" if self.run_dir is not None else None
        main = ddp.is_main()
        self.guard = NonFiniteGuard(max_bad_steps, bad_log if main else None, warn=main)

    # ---- budget and schedule -------------------------------------------------------------
    def total_steps(self, steps_per_epoch: int) -> int | None:
        candidates = []
        if self.steps is not None:
            candidates.append(self.steps)
        if self.epochs is not None:
            candidates.append(math.ceil(self.epochs * steps_per_epoch))
        return min(candidates) if candidates else None

    def progress_fraction(self, total_steps: int | None) -> float:
        parts = [self.step / total_steps] if total_steps else []
        if self.max_time is not None:
            parts.append(self.elapsed / self.max_time)
        return min(max(parts), 1.0)

    # ---- the loop ------------------------------------------------------------------------
    def _run_monitor(self, log: Loggers | None, epoch: float) -> float | None:
        if self.monitor is None:
            return None
        self.method.eval()
        try:
            acc = self.monitor(self.method.embed, self.device, self.amp_dtype, self.channels_last)
        finally:
            self.method.train()
        row = {"step": self.step, "epoch": round(epoch, 4), "knn_top1": acc}
        self.history.append(row)
        if log is not None:
            log.log(self.step, row)
        return acc

    def _train_step(
        self, batch: Batch, lr_factor: float, watch: bool, ids: list[str] | None
    ) -> dict[str, float] | None:
        """One optimiser step; None when the loss or a gradient was not finite (skipped)."""
        lr = set_lr(self.optimizer, self.base_lr, lr_factor)
        self.optimizer.zero_grad(set_to_none=True)
        batch = move_batch(batch, self.device)
        self.guard.before_step()  # what a skipped step must give back
        with torch.autocast(
            self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None
        ):
            if self.grad_cache_chunk is not None:
                out = cached_step(self.method, batch, self.grad_cache_chunk)
            elif self.step_module is not None:
                out = self.step_module(batch)
            else:
                out = self.method.training_step(batch)
        reason = self.guard.loss_reason(out.loss)
        # under DDP every process back-propagates (its all-reduce waits for all of them); a
        # non-finite loss anywhere then shows as a non-finite averaged gradient everywhere
        if (reason is None or self.step_module is not None) and not out.backward_done:
            self.scaler.scale(out.loss).backward()
        reason = self.guard.decide(reason, self.method)  # the same on every process
        if reason is not None:  # skip the update, undo the step; stop after too many in a row
            self.optimizer.zero_grad(set_to_none=True)
            self.guard.bad(self.step + 1, reason, batch, ids)
            return None
        self.guard.good()
        if self.step_module is None:  # gradient caching: one explicit all-reduce
            ddp.average_gradients(self.method)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        metrics = {**out.metrics, "lr": lr}
        if ddp.is_distributed():
            local = metrics["loss"] if "loss" in metrics else out.loss.item()
            metrics["loss"] = ddp.mean_across(local)  # the global batch's loss
        if watch and out.embeddings is not None:
            stats = collapse_stats(*out.embeddings)
            metrics.update(stats)
            metrics["collapsed"] = float(self.collapse.update(stats, self.step + 1))
        return metrics

    def _postfix(self, row: dict[str, float], knn: float | None) -> dict[str, str]:
        """The progress line: loss, lr, items/s, monitor kNN, and warnings."""
        shown = {
            "loss": f"{row['loss']:.3f}",
            "lr": f"{row['lr']:.3g}",
            "items_s": f"{row['items_per_s']:.0f}",
            "knn": "-" if knn is None else f"{knn:.3f}",
        }
        if self.collapse.collapsed_at is not None:
            shown["warn"] = f"COLLAPSED at step {self.collapse.collapsed_at}"
        if self.guard.total:
            shown["skipped"] = f"{self.guard.total} non-finite"
        return shown

    def _source(self, data: ImageDataset | BatchSource) -> BatchSource:
        if isinstance(data, BatchSource):
            return data
        if self.views is None:
            raise ValueError("Trainer(views=...) is needed to train on an ImageDataset")
        return ImageBatches(data, self.views, device=self.device, channels_last=self.channels_last)

    def fit(
        self,
        data: ImageDataset | BatchSource,
        *,
        resume: bool = False,
        stop_at_step: int | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> FitResult:
        """Train until the budget (or `stop_at_step`) is reached.

        Args:
            data: training images (labels only for supervised methods), or a `BatchSource`.
            resume: continue from the newest checkpoint in `run_dir`.
            stop_at_step: pause after this step (checkpoint written), keeping the schedule of
                the full budget; a later `fit(resume=True)` continues exactly.
            on_start: called once a resumed run is loaded and has budget left (or at once).
        """
        source = self._source(data)
        views_device = getattr(source, "device", torch.device("cpu"))
        if self.views_rng.device != views_device:  # same seed, on the views' device
            self.views_rng = torch.Generator(device=views_device).manual_seed(
                self.seed + 7919 * ddp.rank()
            )
        n = len(source)
        steps_per_epoch = n // self.batch_size
        if steps_per_epoch < 1:
            raise ContrastkitError(
                f"the dataset has {n} items, fewer than one batch of {self.batch_size}; "
                "lower train.batch_size"
            )
        if resume:
            path = self.resume()
            if ddp.is_main():
                print(f"resuming from {path} (step {self.step})", file=sys.stderr)
        ids = getattr(getattr(source, "data", None), "ids", None)
        ddp.broadcast_state(self.method)
        if self.grad_cache_chunk is None:
            self.step_module = ddp.wrap_method(self.method, self.device)
        self.guard.watch(self.method)  # its layers are final now
        total = self.total_steps(steps_per_epoch)
        if resume:
            self.refuse_finished(total)
        if on_start is not None:
            on_start()
        log = None
        if self.run_dir is not None and ddp.is_main():
            log = open_loggers(self.run_dir, self.loggers, start_step=self.step, config=self.config)

        bar = tqdm(
            total=total if total is not None else int(self.max_time),
            initial=self.step if total is not None else int(self.elapsed),
            unit="step" if total is not None else "s",
            disable=not self.progress or not ddp.is_main(),
            dynamic_ncols=True,
            mininterval=1.0,
        )
        self.method.train()
        window: list[dict[str, float]] = []
        last_loss, knn = float("nan"), None
        rate_items, rate_time = 0, 0.0
        start_step = self.step
        with interrupt_on_signals():
            try:
                while not self._done(total):
                    epoch, pos = divmod(self.step, steps_per_epoch)
                    order = source.order(self.seed * 1_000_003 + epoch, self.batch_size)
                    while pos < steps_per_epoch and not self._done(total):
                        t0 = time.perf_counter()
                        idx = order[pos * self.batch_size : (pos + 1) * self.batch_size]
                        idx = ddp.local_slice(idx, self.batch_size)  # this process's rows
                        metrics = self._train_step(
                            source.batch(idx, self.views_rng),
                            warmup_cosine(
                                self.progress_fraction(total), self.warmup, self.final_lr_ratio
                            ),
                            watch=(self.step + 1) % self.log_every == 0,
                            ids=ids,
                        )
                        self.step += 1
                        pos += 1
                        if metrics is not None:  # a skipped (non-finite) step changes nothing
                            self.method.on_step_end(self.progress_fraction(total))
                        dt = time.perf_counter() - t0
                        self.elapsed = ddp.max_across(self.elapsed + dt)  # all stop together
                        rate_items += self.batch_size
                        rate_time += dt
                        if metrics is not None:
                            window.append(metrics)
                            last_loss = metrics["loss"]
                        if window and (self.step % self.log_every == 0 or self._done(total)):
                            row = mean_row(window)
                            row.update(
                                step=self.step,
                                epoch=round(self.step / steps_per_epoch, 4),
                                elapsed=round(self.elapsed, 2),
                                items_per_s=rate_items / max(rate_time, 1e-9),
                            )
                            self.history.append(row)
                            if log is not None:
                                log.log(self.step, row)
                            bar.set_postfix(self._postfix(row, knn), refresh=False)
                            window, rate_items, rate_time = [], 0, 0.0
                        bar.update(1 if total is not None else int(self.elapsed) - bar.n)
                        if self.step % self.checkpoint_every == 0 and not self.guard.in_a_row:
                            if log is not None:  # rows a resume will not log again reach disk
                                log.flush()
                            self.save()  # never during a run of non-finite steps
                        if stop_at_step is not None and self.step >= stop_at_step:
                            break
                    if stop_at_step is not None and self.step >= stop_at_step:
                        break
                    if (
                        pos == steps_per_epoch
                        and ddp.is_main()
                        and self.monitor_every
                        and (epoch + 1) % self.monitor_every == 0
                        and not self._done(total)
                    ):
                        knn = self._run_monitor(log, self.step / steps_per_epoch)
                paused = stop_at_step is not None and not self._done(total)
                if not paused and self.step > start_step and ddp.is_main() and self.monitor:
                    knn = self._run_monitor(log, self.step / steps_per_epoch)
            except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: save, then stop
                saved = self.save()
                signum = getattr(exc, "signum", signal.SIGINT)
                raise TrainingInterrupted(signum, saved) from None
            finally:  # on errors too: what was logged reaches the files
                bar.close()
                if log is not None:
                    log.close()
        self.save()
        if self.run_dir is not None and not paused and ddp.is_main():
            save_weights(self.method.encoder, self.run_dir / "encoder.safetensors")
            save_weights(self.method, self.run_dir / "method.safetensors")
        return FitResult(
            steps=self.step,
            epochs=self.step / steps_per_epoch,
            train_seconds=self.elapsed,
            items_per_second=(self.step * self.batch_size) / max(self.elapsed, 1e-9),
            final_loss=last_loss,
            knn_accuracy=knn,
            collapsed_at_step=self.collapse.collapsed_at,
            run_dir=self.run_dir,
            history=self.history,
            paused=paused,
            skipped_steps=self.guard.total,
        )
