"""What a skipped training step undoes, and why that stays cheap.

A step whose loss or gradient is not finite is skipped (`guards.NonFiniteGuard`): it must
leave the run exactly as it was, or one `inf` pixel leaves NaN BatchNorm statistics (NaN
embeddings for ever after) or a NaN key in MoCo's queue (a NaN loss a few steps later).
Rather than copy the whole method before every step, each kind of state is handled where
it is written:

1. Parameters and optimiser state change only in the optimiser step, which a skipped step
   never takes (its gradients are dropped).
2. Running statistics of normalisation layers (torch's BatchNorm and SyncBatchNorm,
   contrastkit's `SyncBatchNorm`, InstanceNorm with tracked statistics) are the one state
   a forward pass writes. `RunningStats` copies them before every step with one fused copy
   (2C + 1 numbers per layer: a few kilobytes for a ResNet) and copies them back when the
   step is skipped.
3. State a method owns (queues, momentum networks, step counters, SwAV's prototype
   normalisation, CLIP's temperature clamp) changes only in `Method.on_step_end`, which the
   trainer calls after an applied update; `training_step` keeps what it would enqueue until
   then. A skipped step never calls it, so nothing is written and nothing needs copying.

Copying parameters or queues every step would cost time and memory of the model's size,
and checking the inputs for NaN or inf before the step would miss steps that become
non-finite inside the network (an overflow, a bad gradient). `tests/train/test_skipped_step.py`
checks, for every image method, that a skipped step leaves every parameter, buffer,
optimiser state and queue bit-identical.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _NormBase

from contrastkit.methods.base import Batch

__all__ = ["RunningStats", "non_finite_inputs"]


class RunningStats:
    """A copy of the running statistics of every normalisation layer in a module.

    The layers are found once, at construction: build it after the module has its final
    layers and device (after `convert_sync_batchnorm`, `.to(device)`, loading a checkpoint).

    Args:
        module: the network (a `Method`, with its momentum copies).
    """

    def __init__(self, module: nn.Module) -> None:
        self.live: list[Tensor] = [
            buffer
            for layer in module.modules()
            if isinstance(layer, _NormBase) and layer.track_running_stats
            for buffer in layer.buffers(recurse=False)
        ]
        self.saved = [t.detach().clone() for t in self.live]

    def save(self) -> None:
        """Copy the current statistics (before a step)."""
        if self.live:
            torch._foreach_copy_(self.saved, self.live)

    @torch.no_grad()
    def restore(self) -> None:
        """Put back the statistics of the last `save` (after a skipped step)."""
        if self.live:
            torch._foreach_copy_(self.live, self.saved)


def non_finite_inputs(batch: Batch) -> dict[str, list[int]]:
    """Dataset positions (or batch rows, without `batch.index`) of the items whose input
    holds a NaN or an infinity, per floating-point input ("view 0", ..., "negatives", "scores").

    Meant for a step already known to be bad: it reads every input value once.
    """
    named: list[tuple[str, object]] = [(f"view {i}", v) for i, v in enumerate(batch.views)]
    named += [("negatives", batch.negatives), ("scores", batch.scores)]
    found: dict[str, list[int]] = {}
    for name, value in named:
        if not isinstance(value, Tensor) or not value.is_floating_point() or value.ndim < 1:
            continue
        rows = (~torch.isfinite(value.reshape(value.shape[0], -1)).all(1)).nonzero().flatten()
        if len(rows):
            rows = rows.cpu()
            where = batch.index.cpu()[rows] if batch.index is not None else rows
            found[name] = [int(i) for i in where.tolist()]
    return found
