"""Choose dedup's settings (threshold, ratio) on the *training* split, never the test split
that benchmarks/applications.py scores: 1,000 near-copies planted among 10,000 training
images, precision / recall / F1 of `find_duplicates` over a grid, per image encoder. The
trained encoder's best row is the library default (contrastkit/index/dedup.py); the
applications benchmark scores every system at its own best from this same procedure.

Usage:
    python -m benchmarks.dedup_calibration --run RUN_DIR
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.applications import Encoders
from benchmarks.common import print_table, write_results
from benchmarks.dedup_images import best_settings, grid, planted_set


def calibrate(enc: Encoders, seed: int, size: int = 10000) -> list[dict]:
    """The grid's rows on `size` training images (monitor hold-out included) + 1,000
    planted near-copies."""
    train = enc.data.pool
    base = np.random.default_rng(seed).choice(len(train), size=size, replace=False)
    images, truth = planted_set(train.images[torch.from_numpy(base)], seed)
    return grid(enc.systems(), images, truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default="dedup_calibration")
    args = parser.parse_args()
    rows = calibrate(Encoders(args), args.seed)
    print_table(rows, ["system", "threshold", "ratio", "precision", "recall", "f1"])
    print("best per system (training split):")
    print_table(list(best_settings(rows).values()), ["system", "threshold", "ratio", "f1"])
    print(f"written {write_results(args.output, rows)}")


if __name__ == "__main__":
    main()
