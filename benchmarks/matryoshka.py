"""Matryoshka MiniLM on the Debian descriptions: recall@1 at each nested size.

Two systems fine-tune MiniLM-L6 from the packaged recipe `debian_descriptions` (package
name + summary paired with its long description, supervised SimCSE / multiple-negatives
ranking, temperature 0.05, batch 32) for `--budget` seconds each, seeds 0..N-1:

- "Matryoshka": `method.matryoshka_dims` = 96, 192, 384 (equal weights): the loss is the
  sum of the InfoNCE losses of the embeddings cut to the first 96, 192 and all 384
  features (Kusupati et al. 2022);
- "plain": the recipe as it is (the loss on the 384 features only).

Both are scored the way `contrastkit evaluate` scores a Matryoshka run
(`pipeline.nested_eval.nested_scores`): recall@1 of the 500 held-out descriptions with the
embeddings cut to the first m features, m in 96, 192, 384; MiniLM as it is (no
fine-tuning) is scored the same way once. Nothing is chosen here (the sizes are MiniLM's
width and its quarter and half; the weights are the paper's equal ones). Rows per seed,
then mean and sample std per (system, dim), and per system the drop from 384 to 96
features (mean and std over seeds).

Usage:
    python -m benchmarks.matryoshka [--budget 180] [--seeds 3] [--runs DIR]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import mean_std, print_table, write_results
from contrastkit.pipeline.evaluate_run import load_run_model
from contrastkit.pipeline.nested_eval import nested_scores
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train

RECIPE = "debian_descriptions"
DIMS = [96, 192, 384]
SYSTEMS: dict[str, dict[str, Any]] = {
    "Matryoshka": {"method.matryoshka_dims": DIMS},
    "plain": {},
}
METRIC = "recall@1"


def _recall_by_dim(run_dir: Path, untrained: bool) -> tuple[dict[int, float], dict[int, float]]:
    """recall@1 per size of the run's trained encoder and (with `untrained`) of MiniLM as it
    is (the modality's pretrained start), from one load of the run and its data."""
    cfg, modality, data, trained = load_run_model(run_dir)
    models = [trained] + ([data.start.eval()] if untrained else [])
    found = [
        {
            r["dim"]: r["value"]
            for r in nested_scores(modality, m, cfg, data, DIMS)
            if r["metric"] == METRIC
        }
        for m in models
    ]
    return found[0], found[1] if untrained else {}


def summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample std per (system, dim) over seeds, and the 384 -> 96 drop."""
    groups: dict[tuple[str, int], list[float]] = {}
    for r in rows:
        if "seed" in r:
            groups.setdefault((r["system"], r["dim"]), []).append(r["value"])
    out = [
        {"system": s, "dim": d, "metric": METRIC, **stats}
        for (s, d), stats in mean_std(groups).items()
    ]
    drops = {
        system: [
            f - q
            for f, q in zip(groups[(system, DIMS[-1])], groups[(system, DIMS[0])], strict=True)
        ]
        for system in sorted({s for s, _ in groups})
    }
    out += [
        {"system": s, "dim": f"{DIMS[-1]}->{DIMS[0]}", "metric": "drop", **stats}
        for s, stats in mean_std(drops).items()
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds each")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--runs", default="runs/bench-matryoshka")
    parser.add_argument("--output", default="matryoshka")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        for system, overrides in SYSTEMS.items():
            run_dir = Path(args.runs) / f"{system.lower()}-seed{seed}"
            shutil.rmtree(run_dir, ignore_errors=True)
            settings = {"train.max_time": args.budget, "train.seed": seed,
                        "train.run_dir": str(run_dir)}  # fmt: skip
            cfg = load_config(RECIPE, {**overrides, **settings})
            torch.manual_seed(seed)
            fit, _ = train(cfg, progress=False)
            trained, untrained = _recall_by_dim(run_dir, seed == 0 and system == "plain")
            for dim, value in untrained.items():
                rows.append({"system": "MiniLM as it is", "dim": dim, "metric": METRIC,
                             "value": value})  # fmt: skip
            for dim, value in trained.items():
                rows.append({"system": system, "dim": dim, "metric": METRIC, "value": value,
                             "seed": seed, "steps": fit.steps})  # fmt: skip
            print(f"{system} seed {seed} ({fit.steps} steps): " + ", ".join(
                f"{r['dim']}: {r['value']:.3f}" for r in rows if r.get("seed") == seed
                and r["system"] == system), flush=True)  # fmt: skip
            write_results(args.output, rows + summaries(rows), budget_seconds=args.budget,
                          seeds=args.seeds, complete=False)  # fmt: skip
    table = [r for r in rows if "seed" not in r] + summaries(rows)
    print_table(table, ["system", "dim", "metric", "value", "std", "n"])
    path = write_results(args.output, rows + summaries(rows), budget_seconds=args.budget,
                         seeds=args.seeds, complete=True)  # fmt: skip
    print(f"written {path}")


if __name__ == "__main__":
    main()
