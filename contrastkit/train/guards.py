"""Guards of a training run: non-finite steps skipped (leaving the run as it was), logged
and warned of; signals turned into a checkpoint before exit."""

from __future__ import annotations

import json
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit.errors import ContrastkitError
from contrastkit.methods.base import Batch
from contrastkit.train import ddp
from contrastkit.train.rollback import RunningStats, non_finite_inputs

__all__ = [
    "NonFiniteError",
    "NonFiniteGuard",
    "NonFiniteStepWarning",
    "TrainingInterrupted",
    "interrupt_on_signals",
    "weights_finite",
]


class NonFiniteError(ContrastkitError):
    """Too many training steps in a row produced a non-finite loss or gradient."""


class NonFiniteStepWarning(UserWarning):
    """A training step was skipped: its loss or a gradient was not finite."""


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived during training; `checkpoint` is what was saved."""

    def __init__(self, signum: int = signal.SIGINT, checkpoint: Path | None = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum, self.checkpoint = signum, checkpoint


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Inside the block, SIGTERM raises `TrainingInterrupted` like Ctrl-C does, so the
    trainer's interrupt path saves a checkpoint; the previous handler is restored after.
    Only the main thread can install handlers; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise TrainingInterrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def gradients_finite(module: nn.Module) -> bool:
    """True when every parameter gradient of `module` is finite (one fused norm per dtype)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return True
    norms = torch._foreach_norm(grads)
    return bool(torch.isfinite(torch.stack([n.float() for n in norms])).all())


def weights_finite(module: nn.Module) -> bool:
    """True when every floating-point parameter and buffer of `module` is finite."""
    tensors = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
    return all(bool(torch.isfinite(t).all()) for t in tensors)


class NonFiniteGuard:
    """Skips training steps whose loss or gradient is not finite, leaving the run as it was.

    A bad step takes no optimiser update, gets its normalisation statistics back (see
    `contrastkit.train.rollback` for why that is all a step can have changed), is written
    to `log_path` (JSON lines: step, reason, batch positions and ids, the items whose
    inputs are not finite) and named in a `NonFiniteStepWarning`. After `max_bad_steps`
    bad steps in a row the run stops with `NonFiniteError`. Under torch.distributed every
    process takes the same decision (a bad step on one process is skipped by all).

    Args:
        max_bad_steps: consecutive bad steps tolerated, >= 1.
        log_path: where bad steps are recorded (None: not written).
        warn: issue the warning (the trainer's rank 0 does).
    """

    def __init__(
        self, max_bad_steps: int = 3, log_path: Path | None = None, warn: bool = True
    ) -> None:
        if max_bad_steps < 1:
            raise ValueError(f"max_bad_steps must be >= 1, got {max_bad_steps}")
        self.max_bad_steps, self.log_path, self.warn = max_bad_steps, log_path, warn
        self.in_a_row = 0
        self.total = 0
        self.stats: RunningStats | None = None

    def watch(self, module: nn.Module) -> None:
        """Restore `module`'s normalisation statistics after each bad step from now on."""
        self.stats = RunningStats(module)

    def before_step(self) -> None:
        """Remember the statistics a step may change (one fused copy of small vectors)."""
        if self.stats is not None:
            self.stats.save()

    @staticmethod
    def loss_reason(loss: Tensor) -> str | None:
        """'loss nan' / 'loss inf' when the loss is not finite, else None."""
        value = float(loss.detach())
        if value != value:
            return "loss nan"
        return "loss inf" if value in (float("inf"), float("-inf")) else None

    @staticmethod
    def decide(reason: str | None, module: nn.Module) -> str | None:
        """The step's reason to be skipped once it has back-propagated: `reason` (from the
        loss), else a non-finite gradient of `module`, else a bad step on another process."""
        if reason is None and not gradients_finite(module):
            reason = "gradient not finite"
        if ddp.is_distributed() and ddp.max_across(float(reason is not None)) and not reason:
            reason = "loss or gradient not finite on another process"
        return reason

    def good(self) -> None:
        self.in_a_row = 0

    def bad(self, step: int, reason: str, batch: Batch, ids: list[str] | None = None) -> None:
        """Undo and record bad step number `step` (every process calls this); raise once
        `max_bad_steps` happened in a row.

        Raises:
            NonFiniteError: naming the steps, the reason and where the batches are logged.
        """
        if self.stats is not None:
            self.stats.restore()
        self.in_a_row += 1
        self.total += 1
        index = batch.index
        positions = [] if index is None else [int(i) for i in index.tolist()]
        found = [(reason, non_finite_inputs(batch))]
        if ddp.is_distributed():  # every process's own reason and inputs
            found = ddp.gather_objects(found[0])
        inputs: dict[str, list[int]] = {}
        for _, where in found:
            for name, rows in where.items():
                inputs.setdefault(name, []).extend(rows)
        if self.log_path is not None:
            record = {"step": step, "reason": reason, "batch_positions": positions}
            if ids is not None:
                record["batch_ids"] = [ids[i] for i in positions]
            if inputs:
                record["non_finite_inputs"] = inputs
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as f:
                f.write(json.dumps(record) + "\n")
        if self.warn:
            message = _describe(step, found, inputs, self.log_path)
            warnings.warn(message, NonFiniteStepWarning, stacklevel=3)
        if self.in_a_row >= self.max_bad_steps:
            where = f"; batches listed in {self.log_path}" if self.log_path else ""
            raise NonFiniteError(
                f"training stopped: {self.in_a_row} steps in a row (up to step {step}) had a "
                f"non-finite {reason.split()[0]}{where}; the last checkpoint holds the last "
                "good weights; lower optim.lr, use train.precision=fp32, or check the data"
            )


def _describe(
    step: int,
    found: list[tuple[str, dict[str, list[int]]]],
    inputs: dict[str, list[int]],
    log_path: Path | None,
) -> str:
    """One line: the step, what was not finite (per process if several), the inputs."""
    own = [(r, reason) for r, (reason, _) in enumerate(found) if "another process" not in reason]
    what = found[0][0]
    if len(found) > 1 and own:
        what = "; ".join(f"process {r}: {reason}" for r, reason in own)
    if inputs:
        shown = ", ".join(
            f"{name} of {len(rows)} item(s) (positions {rows[:5]}{' ...' if len(rows) > 5 else ''})"
            for name, rows in inputs.items()
        )
        what += f"; non-finite input values in {shown}"
    where = f"; listed in {log_path}" if log_path is not None else ""
    return (
        f"step {step} skipped ({what}): no update; weights, optimiser state, normalisation "
        f"statistics and queues kept as they were{where}"
    )
