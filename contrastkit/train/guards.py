"""Guards of a training run: non-finite steps skipped and logged, signals turned into a
checkpoint before exit."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit.errors import ContrastkitError

__all__ = [
    "NonFiniteError",
    "NonFiniteGuard",
    "TrainingInterrupted",
    "interrupt_on_signals",
    "weights_finite",
]


class NonFiniteError(ContrastkitError):
    """Too many training steps in a row produced a non-finite loss or gradient."""


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
    """Counts training steps whose loss or gradient is not finite.

    A bad step is skipped by the trainer (no optimiser update), written to
    `log_path` (JSON lines: step, reason, batch positions and ids) and, after
    `max_bad_steps` bad steps in a row, the run stops with `NonFiniteError`.

    Args:
        max_bad_steps: consecutive bad steps tolerated, >= 1.
        log_path: where bad steps are recorded (None: not written).
    """

    def __init__(self, max_bad_steps: int = 3, log_path: Path | None = None) -> None:
        if max_bad_steps < 1:
            raise ValueError(f"max_bad_steps must be >= 1, got {max_bad_steps}")
        self.max_bad_steps, self.log_path = max_bad_steps, log_path
        self.in_a_row = 0
        self.total = 0

    @staticmethod
    def loss_reason(loss: Tensor) -> str | None:
        """'loss nan' / 'loss inf' when the loss is not finite, else None."""
        value = float(loss.detach())
        if value != value:
            return "loss nan"
        return "loss inf" if value in (float("inf"), float("-inf")) else None

    def good(self) -> None:
        self.in_a_row = 0

    def bad(
        self, step: int, reason: str, index: Tensor | None, ids: list[str] | None = None
    ) -> None:
        """Record bad step number `step`; raise once `max_bad_steps` happened in a row.

        Raises:
            NonFiniteError: naming the steps, the reason and where the batches are logged.
        """
        self.in_a_row += 1
        self.total += 1
        positions = [] if index is None else [int(i) for i in index.tolist()]
        if self.log_path is not None:
            record = {"step": step, "reason": reason, "batch_positions": positions}
            if ids is not None:
                record["batch_ids"] = [ids[i] for i in positions]
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as f:
                f.write(json.dumps(record) + "\n")
        if self.in_a_row >= self.max_bad_steps:
            where = f"; batches listed in {self.log_path}" if self.log_path else ""
            raise NonFiniteError(
                f"training stopped: {self.in_a_row} steps in a row (up to step {step}) had a "
                f"non-finite {reason.split()[0]}{where}; the last checkpoint holds the last "
                "good weights; lower optim.lr, use train.precision=fp32, or check the data"
            )
