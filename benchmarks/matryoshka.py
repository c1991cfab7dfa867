"""Matryoshka MiniLM on the Debian descriptions: recall@1 at each nested size.

Two systems fine-tune MiniLM-L6 from the packaged recipe `debian_descriptions` (package
name + summary paired with its long description, supervised SimCSE / multiple-negatives
ranking, temperature 0.05, batch 32) for `--budget` seconds each, seeds 0..N-1:

- "Matryoshka": `method.matryoshka_dims` = 96, 192, 384 (equal weights): the loss is the
  sum of the InfoNCE losses of the embeddings cut to the first 96, 192 and all 384
  features (Kusupati et al. 2022);
- "plain": the recipe as it is (the loss on the 384 features only);
- "Matryoshka PCA" and "plain PCA": the same from MiniLM rotated onto the principal axes
  of its embeddings of 6,000 training texts (`model.rotation: pca`), so its first features
  carry the most variance before the fine-tune starts (full-size similarities unchanged).

Both are scored the way `contrastkit evaluate` scores a Matryoshka run
(`pipeline.nested_eval.nested_scores`): recall@1 of the 500 held-out descriptions with the
embeddings cut to the first m features, m in 96, 192, 384; MiniLM as it is (no
fine-tuning) is scored the same way once. Nothing is chosen on the test pairs (the sizes
are MiniLM's width and its quarter and half; the weights are the paper's equal ones, which
heavier small-size weights did not beat on `--validation`, BENCHMARKS.md). Rows per seed,
then mean and sample std per (system, dim), and per system the drop from 384 to 96
features (mean and std over seeds).

Variants for choosing the loss's weights (`--systems`, on `--validation` only): "Matryoshka
2:1:1" and "Matryoshka 4:2:1" weigh the smaller sizes more (`method.matryoshka_weights`).
`--validation` holds 500 of each seed's *training* pairs out as the queries and trains on
the rest; the test pairs are not read. A choice made there may then be measured on the test
split.

Usage:
    python -m benchmarks.matryoshka [--budget 180] [--seeds 3] [--runs DIR]
        [--systems Matryoshka,plain] [--validation] [--output matryoshka]
"""

from __future__ import annotations

import argparse
import copy
import shutil
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import mean_std, print_table, write_results
from contrastkit.data.text import split_texts
from contrastkit.modalities.text import TextModality, TextPrepared, rotate_start
from contrastkit.pipeline.evaluate_run import load_run_model
from contrastkit.pipeline.nested_eval import nested_scores
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train

RECIPE = "debian_descriptions"
DIMS = [96, 192, 384]
SYSTEMS: dict[str, dict[str, Any]] = {
    "Matryoshka": {"method.matryoshka_dims": DIMS},
    "plain": {},
    "Matryoshka 2:1:1": {"method.matryoshka_dims": DIMS, "method.matryoshka_weights": [2, 1, 1]},
    "Matryoshka 4:2:1": {"method.matryoshka_dims": DIMS, "method.matryoshka_weights": [4, 2, 1]},
    "Matryoshka PCA": {"method.matryoshka_dims": DIMS, "model.rotation": "pca"},
    "plain PCA": {"model.rotation": "pca"},
}
VALIDATION_SIZE = 500
METRIC = "recall@1"


def validation_data(data: TextPrepared, seed: int, size: float | None = None) -> TextPrepared:
    """`data` with its test pairs replaced by `size` (default VALIDATION_SIZE) of its
    training pairs (a count, or a share below 1; a seeded draw) and trained on the rest:
    the test split is not part of the result."""
    size = VALIDATION_SIZE if size is None else size
    train_part, held = split_texts(data.train, size, seed)
    what = f"{len(train_part):,} {train_part.kind}, {len(held or []):,} validation"
    out = TextPrepared(f"{data.train.source}: {what}", None, list(data.skipped), train_part,
                       held, data.classes)  # fmt: skip
    out.start = data.start
    return out


def with_rotated_start(data: TextPrepared, cfg: Any) -> TextPrepared:
    """A copy of a validation split whose start is rotated (`model.rotation: pca`) on its
    own training texts, so the rotation never sees the validation pairs."""
    out = copy.copy(data)
    out.start = rotate_start(copy.deepcopy(data.start), cfg, data.train)
    return out


def _recall_by_dim(
    run_dir: Path, untrained: bool, scored: TextPrepared | None = None
) -> tuple[dict[int, float], dict[int, float]]:
    """recall@1 per size of the run's trained encoder and (with `untrained`) of MiniLM as it
    is (the modality's pretrained start), from one load of the run and its data; `scored`
    (a validation split) replaces the run's own test pairs."""
    cfg, modality, data, trained = load_run_model(run_dir)
    data = scored if scored is not None else data
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
    parser.add_argument("--systems", default="Matryoshka,plain", help="comma-separated")
    parser.add_argument(
        "--validation", action="store_true",
        help="score on 500 held-out training pairs per seed, never the test pairs",
    )  # fmt: skip
    args = parser.parse_args()
    systems = [n.strip() for n in args.systems.split(",") if n.strip()]
    unknown = [n for n in systems if n not in SYSTEMS]
    if unknown:
        parser.error(f"--systems: unknown {', '.join(unknown)} (known: {', '.join(SYSTEMS)})")
    split = "validation" if args.validation else "test"
    rows: list[dict[str, Any]] = []
    starts_scored: set[str] = set()  # MiniLM as it is (and rotated): scored once, on seed 0
    for seed in range(args.seeds):
        held = None
        if args.validation:
            cfg = load_config(RECIPE, {"train.seed": seed})
            held = validation_data(TextModality().prepare(cfg, None), seed)
        for system in systems:
            overrides = SYSTEMS[system]
            run_dir = Path(args.runs) / f"{system.lower()}-seed{seed}"
            shutil.rmtree(run_dir, ignore_errors=True)
            settings = {"train.max_time": args.budget, "train.seed": seed,
                        "train.run_dir": str(run_dir)}  # fmt: skip
            cfg = load_config(RECIPE, {**overrides, **settings})
            rotated = cfg.model.rotation == "pca"
            scored = with_rotated_start(held, cfg) if held is not None and rotated else held
            torch.manual_seed(seed)
            fit, _ = train(cfg, progress=False, data=scored)
            start = "MiniLM as it is" + (", PCA-rotated" if rotated else "")
            first = seed == 0 and start not in starts_scored
            starts_scored |= {start} if first else set()
            trained, untrained = _recall_by_dim(run_dir, first, scored)
            for dim, value in untrained.items():
                rows.append({"system": start, "dim": dim, "metric": METRIC,
                             "value": value})  # fmt: skip
            for dim, value in trained.items():
                rows.append({"system": system, "dim": dim, "metric": METRIC, "value": value,
                             "seed": seed, "steps": fit.steps})  # fmt: skip
            print(f"{system} seed {seed} ({fit.steps} steps): " + ", ".join(
                f"{r['dim']}: {r['value']:.3f}" for r in rows if r.get("seed") == seed
                and r["system"] == system), flush=True)  # fmt: skip
            write_results(args.output, rows + summaries(rows), budget_seconds=args.budget,
                          seeds=args.seeds, complete=False, split=split)  # fmt: skip
    table = [r for r in rows if "seed" not in r] + summaries(rows)
    print_table(table, ["system", "dim", "metric", "value", "std", "n"])
    path = write_results(args.output, rows + summaries(rows), budget_seconds=args.budget,
                         seeds=args.seeds, complete=True, split=split)  # fmt: skip
    print(f"written {path}")


if __name__ == "__main__":
    main()
