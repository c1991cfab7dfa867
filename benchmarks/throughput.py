"""SimCLR training throughput, contrastkit against LightlySSL's standard recipe, one run.

Two settings on Fashion-MNIST, batch 256, bf16 autocast where the CPU has it:
  compact CNN at 28x28 (recipe simclr_fashion_mnist), and ResNet-18 with the
  small-input stem at 32x32 (the same recipe, images resized to 32x32).
Each system trains for --budget seconds, --repeats times, the two systems alternating
(contrastkit, LightlySSL, contrastkit, ...) so that both see the same machine: contrastkit
through its Trainer (batched tensor views), LightlySSL through its SimCLRTransform on PIL
images in a DataLoader, its projection head and NTXentLoss (benchmarks/lightly_simclr.py),
both with the recipe's precision and memory format. Throughput is pairs/s over each
budget; the table gives the median over repeats and the ratio of the medians. The FLOPs
of one step are counted for each system (torch FlopCounterMode) to give its fraction of
the measured matmul peak in the step's precision.

Usage:
    python -m benchmarks.throughput [--budget 90] [--repeats 3] [--lightly-workers 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from pathlib import Path

import torch

from benchmarks.common import print_table, write_results
from benchmarks.lightly_simclr import train_lightly
from contrastkit.modalities.image import ImageModality
from contrastkit.pipeline.bench import matmul_peak_gflops, run_bench
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train
from contrastkit.recipes import RECIPE_DIR

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "compact CNN 28x28": {},
    "ResNet-18 (small-input stem) 32x32": {
        "model.backbone": "resnet18",
        "data.image_size": 32,
        "views.size": 32,
    },
}


def _cfg(overrides: dict, budget: float, run_dir: Path):
    cfg = load_config(
        RECIPE_DIR / "simclr_fashion_mnist.yaml",
        {**overrides, "train.batch_size": 256, "train.max_time": budget,
         "train.monitor_every": 0, "data.holdout": 0, "train.run_dir": str(run_dir)},
    )  # fmt: skip
    cfg.train.epochs = cfg.train.steps = None
    return cfg


def _measure(name: str, args: argparse.Namespace) -> list[dict]:
    """Rows of one setting: per-repeat pairs/s of both systems, medians, ratio, peak shares."""
    run_dir = ROOT / "runs" / "bench-throughput" / name.split()[0]
    cfg = _cfg(SETTINGS[name], args.budget, run_dir)
    probe = run_bench(cfg, steps=3, warmup=1)  # FLOPs per step, precision, peak
    modality = ImageModality()
    data = modality.prepare(cfg, None)  # data.holdout is 0: data.train is the whole split
    lightly_cfg = modality.resolve(cfg, data)
    ours, theirs, rows = [], [], []
    for repeat in range(args.repeats):
        fresh = run_dir / f"repeat{repeat}"  # a new run each time, never a resume
        shutil.rmtree(fresh, ignore_errors=True)
        cfg.train.run_dir = str(fresh)
        fit, _ = train(cfg, run_dir=fresh, progress=False)
        ours.append(fit.items_per_second)
        got = train_lightly(lightly_cfg, data, args.budget, args.lightly_workers)
        theirs.append(got["pairs_per_s"])
        rows += [
            {"setting": name, "system": "contrastkit", "metric": "pairs/s", "repeat": repeat,
             "value": fit.items_per_second, "steps": fit.steps},
            {"setting": name, "system": "LightlySSL", "metric": "pairs/s", "repeat": repeat,
             "value": got["pairs_per_s"], "steps": got["steps"]},
        ]  # fmt: skip
        print(f"{name} repeat {repeat}: contrastkit {ours[-1]:.1f}, LightlySSL {theirs[-1]:.1f} "
              "pairs/s", flush=True)  # fmt: skip
    bs = cfg.train.batch_size
    gflop_per_pair = {"contrastkit": probe.gflop_per_step / bs,
                      "LightlySSL": got["gflop_per_step"] / bs}  # fmt: skip
    summary = []
    for system, values in (("contrastkit", ours), ("LightlySSL", theirs)):
        median = statistics.median(values)
        summary += [
            {"setting": name, "system": system, "metric": "median pairs/s", "value": median,
             "repeats": values, "channels_last": cfg.train.channels_last,
             "precision": probe.precision},
            {"setting": name, "system": system, "metric": "fraction of matmul peak",
             "value": gflop_per_pair[system] * median / probe.peak_gflops,
             "gflop_per_pair": gflop_per_pair[system], "peak_gflops": probe.peak_gflops,
             "precision": probe.precision},
        ]  # fmt: skip
    summary.append({"setting": name, "system": "contrastkit / LightlySSL", "metric": "ratio",
                    "value": statistics.median(ours) / statistics.median(theirs)})  # fmt: skip
    print_table(summary, ["setting", "system", "metric", "value"])
    return rows + summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=90.0, help="seconds per system")
    parser.add_argument("--repeats", type=int, default=3, help="runs per system, alternating")
    parser.add_argument("--lightly-workers", type=int, default=1)
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--output", default="throughput")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    rows: list[dict] = []
    for name in args.settings.split(","):
        rows += _measure(name, args)
    peak = {"fp32": matmul_peak_gflops(torch.float32), "bf16": matmul_peak_gflops(torch.bfloat16)}
    print_table([r for r in rows if "repeat" not in r], ["setting", "system", "metric", "value"])
    print(f"measured matmul peak GFLOP/s: {peak}")
    path = write_results(args.output, rows, budget_seconds=args.budget, repeats=args.repeats,
                         peak=peak)  # fmt: skip
    print(f"written {path}")


if __name__ == "__main__":
    main()
