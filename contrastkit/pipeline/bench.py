"""`contrastkit bench`: where a training step's time goes, and how close it is to the
machine's matmul peak.

The configured method trains `steps` real steps (after `warmup` untimed ones) on the
configured data; each step is timed in four phases: data (indices, uint8 batch, views),
forward (`training_step` under the run's autocast), backward, optimiser. FLOPs of one
forward + backward are counted once with torch's FlopCounterMode; the achieved rate is
compared with the best of a few large matrix products in the step's precision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from contrastkit.config import Config
from contrastkit.progress import bar


@dataclass
class BenchResult:
    """Timings of one configuration (seconds are means per step)."""

    items_per_s: float
    data_s: float
    forward_s: float
    backward_s: float
    optimizer_s: float
    gflop_per_step: float
    achieved_gflops: float
    peak_gflops: float
    precision: str

    @property
    def step_s(self) -> float:
        return self.data_s + self.forward_s + self.backward_s + self.optimizer_s

    @property
    def shares(self) -> dict[str, float]:
        """Each phase's fraction of the step time."""
        phases = ("data", "forward", "backward", "optimizer")
        return {name: getattr(self, f"{name}_s") / self.step_s for name in phases}

    @property
    def fraction_of_peak(self) -> float:
        return self.achieved_gflops / self.peak_gflops

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) lines for printing; shares as fractions, like every table."""
        return [
            ("items/s", f"{self.items_per_s:,.0f}"),
            ("step", f"{1000 * self.step_s:.1f} ms"),
            *(
                (f"  {name}", f"{1000 * getattr(self, name + '_s'):.1f} ms (share {s:.2f})")
                for name, s in self.shares.items()
            ),
            ("GFLOP per step (fwd+bwd)", f"{self.gflop_per_step:.1f}"),
            ("achieved GFLOP/s", f"{self.achieved_gflops:.0f}"),
            (f"measured {self.precision} matmul peak GFLOP/s", f"{self.peak_gflops:.0f}"),
            ("fraction of peak", f"{self.fraction_of_peak:.3f}"),
        ]

    def record(self) -> dict[str, Any]:
        """Every field, the step time, the phase shares and the fraction of the peak (for
        `contrastkit bench --json`)."""
        return {**asdict(self), "step_s": self.step_s, "shares": self.shares,
                "fraction_of_peak": self.fraction_of_peak}  # fmt: skip


def matmul_peak_gflops(dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    """Best rate of (size x size) @ (size x size) products in `dtype`, GFLOP/s."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def step_flops(loss_fn: Callable[[], torch.Tensor]) -> float:
    """FLOPs of one forward (`loss_fn()`, which returns a scalar loss) and its backward,
    counted by torch's FlopCounterMode. One counting block covers both passes: entering
    the counter again clears it (an earlier version counted the backward pass only, two
    thirds of a step). Gradients are left in place for the caller to clear."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        loss_fn().backward()
    return float(counter.get_total_flops())


def _flops(method: torch.nn.Module, batch, amp: torch.dtype | None) -> float:
    def loss() -> torch.Tensor:
        with torch.autocast("cpu", dtype=amp, enabled=amp is not None):
            return method.training_step(batch).loss

    flops = step_flops(loss)
    method.zero_grad(set_to_none=True)
    return flops


def run_bench(cfg: Config, steps: int = 20, warmup: int = 3) -> BenchResult:
    """Time `steps` training steps of the configured method and data (see module doc), on
    `train.threads` threads (the process's count is restored after)."""
    from contrastkit.train.devices import torch_threads

    with torch_threads(cfg.train.threads):
        return _bench(cfg, steps, warmup)


def _bench(cfg: Config, steps: int, warmup: int) -> BenchResult:
    from contrastkit.modalities.registry import get_modality
    from contrastkit.pipeline.train_run import build_method, check_labels
    from contrastkit.train.batches import random_order
    from contrastkit.train.optim import build_optimizer
    from contrastkit.train.precision import autocast_dtype

    modality = get_modality(cfg.data.modality)
    if "holdout" in type(cfg.data).model_fields:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"holdout": 0})})
    data = modality.prepare(cfg, None)
    cfg = modality.resolve(cfg, data)
    check_labels(cfg, data)
    torch.manual_seed(cfg.train.seed)
    method = build_method(cfg, modality, data)
    if cfg.train.channels_last:
        method.to(memory_format=torch.channels_last)
    source = modality.batches(cfg, data, method, torch.device("cpu"))
    o = cfg.optim
    optimizer = build_optimizer(method, o.optimizer, o.lr, o.weight_decay, o.momentum)
    amp = autocast_dtype(cfg.train.precision, torch.device("cpu"))
    bs = cfg.train.batch_size
    order = random_order(cfg.train.seed, len(source))
    g = torch.Generator().manual_seed(cfg.train.seed)
    times = {"data": 0.0, "forward": 0.0, "backward": 0.0, "optimizer": 0.0}
    method.train()
    flops = None
    with bar(warmup + steps, "bench", unit="step") as progress:
        for step in range(warmup + steps):
            t0 = time.perf_counter()
            start = (step * bs) % max(1, len(order) - bs)
            batch = source.batch(order[start : start + bs], g)
            t1 = time.perf_counter()
            if flops is None:
                flops = _flops(method, batch, amp)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=amp, enabled=amp is not None):
                out = method.training_step(batch)
            t2 = time.perf_counter()
            out.loss.backward()
            t3 = time.perf_counter()
            optimizer.step()
            method.on_step_end(step / (warmup + steps))
            t4 = time.perf_counter()
            if step >= warmup:
                for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    times[key] += dt / steps
            progress.update()
    step_s = sum(times.values())
    precision = "bf16" if amp == torch.bfloat16 else "fp32"
    peak = matmul_peak_gflops(torch.bfloat16 if amp == torch.bfloat16 else torch.float32)
    return BenchResult(
        items_per_s=bs / step_s,
        data_s=times["data"],
        forward_s=times["forward"],
        backward_s=times["backward"],
        optimizer_s=times["optimizer"],
        gflop_per_step=(flops or 0.0) / 1e9,
        achieved_gflops=(flops or 0.0) / 1e9 / step_s,
        peak_gflops=peak,
        precision=precision,
    )
