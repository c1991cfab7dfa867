"""The trainer's checkpoint state: what a checkpoint holds and how a run resumes from it."""

from __future__ import annotations

from pathlib import Path

import torch

from contrastkit.errors import ContrastkitError
from contrastkit.train import ddp
from contrastkit.train.checkpoint import latest_checkpoint, load_matching, save_checkpoint
from contrastkit.train.guards import NonFiniteError, weights_finite

__all__ = ["CHECKPOINT_VERSION", "CheckpointedState"]

CHECKPOINT_VERSION = 1


class CheckpointedState:
    """Mixin of `Trainer`: state_dict / load_state_dict / save / resume.

    Expects the trainer's attributes: method, optimizer, scaler, step, elapsed, guard,
    views_rng, seed, config, run_dir, keep_checkpoints, max_time.
    """

    def state_dict(self) -> dict:
        return {
            "version": CHECKPOINT_VERSION,
            "method": self.method.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "elapsed": self.elapsed,
            "skipped_steps": self.guard.total,
            "views_rng": self.views_rng.get_state(),
            "views_rng_by_rank": ddp.gather_objects(self.views_rng.get_state()),
            "torch_rng": torch.get_rng_state(),
            "config": self.config,
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("version") != CHECKPOINT_VERSION:
            raise ContrastkitError(
                f"checkpoint version {state.get('version')} is not {CHECKPOINT_VERSION}"
            )
        load_matching(self.method, state["method"], "the checkpoint")
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except ValueError as exc:  # another grouping of the parameters
            saved = [len(g["params"]) for g in state["optimizer"].get("param_groups", [])]
            ours = [len(g["params"]) for g in self.optimizer.param_groups]
            raise ContrastkitError(
                f"the checkpoint's optimizer groups its parameters as {saved} (sizes), this "
                f"run as {ours}: a setting that regroups parameters changed since it was "
                "written (e.g. SimSiam's method.fix_predictor_lr)"
            ) from exc
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.elapsed = int(state["step"]), float(state["elapsed"])
        self.guard.total = int(state.get("skipped_steps", 0))
        by_rank = state.get("views_rng_by_rank") or [state["views_rng"]]
        try:
            if len(by_rank) != ddp.world_size():
                raise ValueError("another number of processes")
            self.views_rng.set_state(by_rank[ddp.rank()])
        except (ValueError, RuntimeError):  # another process count or device type (the
            # state formats of CPU and CUDA generators differ): fresh, distinct streams
            self.views_rng.manual_seed(self.seed + 7919 * ddp.rank() + 104729 * self.step)
        torch.set_rng_state(state["torch_rng"])

    def save(self) -> Path | None:
        """Write a checkpoint (rank 0 writes; every process must call this).

        Raises:
            NonFiniteError: the weights are not finite; the newest checkpoint (and the
                exported weights, written after the last save) stay those of a good step.
        """
        if self.run_dir is None:
            return None
        if not weights_finite(self.method):
            raise NonFiniteError(
                f"the weights are not finite at step {self.step}; the checkpoints and "
                "encoder.safetensors of the last good step were kept"
            )
        state = self.state_dict()  # collective under torch.distributed
        path = None
        if ddp.is_main():
            path = save_checkpoint(
                state, self.run_dir / "checkpoints", self.step, self.keep_checkpoints
            )
        ddp.barrier()
        return path

    def resume(self) -> Path:
        """Load the newest loadable checkpoint of `run_dir`; return its path."""
        if self.run_dir is None:
            raise ContrastkitError("resume needs a run_dir")
        path, state = latest_checkpoint(self.run_dir / "checkpoints")
        self.load_state_dict(state)
        return path

    def _done(self, total_steps: int | None) -> bool:
        return (total_steps is not None and self.step >= total_steps) or (
            self.max_time is not None and self.elapsed >= self.max_time
        )

    def refuse_finished(self, total_steps: int | None) -> None:
        """A resumed run that has used its budget: nothing to add, nothing to rewrite.

        Raises:
            ContrastkitError: the budget is used.
        """
        if self._done(total_steps):
            raise ContrastkitError(
                f"the run in {self.run_dir} has used its budget (step {self.step}); raise "
                "--steps, --epochs or --max-time to train on, or evaluate it as it is"
            )
