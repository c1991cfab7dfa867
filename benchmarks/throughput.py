"""SimCLR training throughput, contrastkit against LightlySSL's standard recipe, one run.

Two settings on Fashion-MNIST, batch 256, bf16 autocast where the CPU has it:
  compact CNN at 28x28 (recipe simclr_fashion_mnist), and ResNet-18 with the
  small-input stem at 32x32 (the same recipe, images resized to 32x32).
Each system trains for --budget seconds: contrastkit through its Trainer (batched tensor
views), LightlySSL through its SimCLRTransform on PIL images in a DataLoader, its
projection head and NTXentLoss (benchmarks/lightly_simclr.py). Throughput is pairs/s over
the budget. For contrastkit the FLOPs of one step are counted (torch FlopCounterMode) to
give the fraction of the measured matmul peak in the step's precision.

Usage:
    python -m benchmarks.throughput [--budget 90] [--lightly-workers 1]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=90.0, help="seconds per system")
    parser.add_argument("--lightly-workers", type=int, default=1)
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--output", default="throughput")
    args = parser.parse_args()
    rows = []
    for name in args.settings.split(","):
        run_dir = ROOT / "runs" / "bench-throughput" / name.split()[0]
        cfg = _cfg(SETTINGS[name], args.budget, run_dir)
        ours, _ = train(cfg, run_dir=run_dir, progress=False)
        probe = run_bench(cfg, steps=3, warmup=1)  # FLOPs per step, precision, peak
        achieved = probe.gflop_per_step * ours.items_per_second / cfg.train.batch_size
        modality = ImageModality()
        data = modality.prepare(cfg, None)  # data.holdout is 0: data.train is the whole split
        theirs = train_lightly(modality.resolve(cfg, data), data, args.budget, args.lightly_workers)
        ratio = ours.items_per_second / theirs["pairs_per_s"]
        rows += [
            {"setting": name, "system": "contrastkit", "metric": "pairs/s",
             "value": ours.items_per_second, "steps": ours.steps},
            {"setting": name, "system": "LightlySSL", "metric": "pairs/s",
             "value": theirs["pairs_per_s"], "steps": theirs["steps"]},
            {"setting": name, "system": "contrastkit / LightlySSL", "metric": "ratio",
             "value": ratio},
            {"setting": name, "system": "contrastkit", "metric": "fraction of matmul peak",
             "value": achieved / probe.peak_gflops, "precision": probe.precision,
             "peak_gflops": probe.peak_gflops, "gflop_per_step": probe.gflop_per_step},
        ]  # fmt: skip
        print_table(rows[-4:], ["setting", "system", "metric", "value"])
    peak = {"fp32": matmul_peak_gflops(torch.float32), "bf16": matmul_peak_gflops(torch.bfloat16)}
    print_table(rows, ["setting", "system", "metric", "value"])
    print(f"measured matmul peak GFLOP/s: {peak}")
    print(f"written {write_results(args.output, rows, budget_seconds=args.budget, peak=peak)}")


if __name__ == "__main__":
    main()
