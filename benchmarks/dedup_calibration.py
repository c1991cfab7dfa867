"""Choose dedup's defaults (threshold, ratio) on the *training* split, never the test split
that benchmarks/applications.py scores: 1,000 near-copies planted among 10,000 training
images, precision / recall / F1 of `find_duplicates` over a grid, per image encoder.

Usage:
    python -m benchmarks.dedup_calibration --run runs/bench-fashion-mnist
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmarks.applications import Encoders, _identical_pairs, near_copies
from benchmarks.common import print_table, write_results
from contrastkit.index import EmbeddingIndex, find_duplicates, group_pairs
from contrastkit.index.dedup import pair_precision_recall

THRESHOLDS = (0.8, 0.85, 0.9, 0.95)
RATIOS = (0.2, 0.3, 0.5, 0.7, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default="dedup_calibration")
    args = parser.parse_args()
    enc = Encoders(args)
    train = enc.data.pool  # the whole training split, monitor hold-out included
    rng = np.random.default_rng(args.seed)
    base = rng.choice(len(train), size=10000, replace=False)
    originals = rng.choice(10000, size=1000, replace=False)
    images = train.images[torch.from_numpy(base)]
    images = torch.cat([images, near_copies(images[originals], args.seed)])
    n = len(images)
    truth = np.concatenate([
        np.stack([originals, 10000 + np.arange(1000)], 1),
        _identical_pairs(images[:10000].reshape(10000, -1).numpy()),
    ])  # fmt: skip
    rows = []
    for name, fn in enc.systems().items():
        index = EmbeddingIndex(fn(images), [str(i) for i in range(n)], "calibration")
        for threshold in THRESHOLDS:
            for ratio in RATIOS:
                found = find_duplicates(index, threshold=threshold, ratio=ratio)
                pairs = group_pairs(found.group)
                if len(pairs) > 2_000_000:  # a giant group: precision is ~0
                    score = {"precision": 0.0, "recall": float("nan")}
                else:
                    score = pair_precision_recall(pairs, truth, n)
                p, r = score["precision"], score["recall"]
                f1 = 2 * p * r / (p + r) if p + r and r == r else 0.0
                rows.append({"system": name, "threshold": threshold, "ratio": ratio or 1.0,
                             "precision": p, "recall": r, "f1": f1, "metric": "f1",
                             "value": f1})  # fmt: skip
    print_table(rows, ["system", "threshold", "ratio", "precision", "recall", "f1"])
    print(f"written {write_results(args.output, rows)}")


if __name__ == "__main__":
    main()
