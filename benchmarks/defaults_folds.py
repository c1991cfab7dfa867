"""The defaults benchmark on the two small sets, scored over grouped folds instead of one
fixed split: every image is a test image once (but in a class a fold leaves out).

Why: mate-icons' fixed test split holds 97 images (tux-stamps' 143), and a difference of
4 images is 0.04 of accuracy; on mate-icons a grouped validation split of the training
images and the fixed test split gave opposite verdicts (BENCHMARKS.md). A K-fold split by
group uses all 385 (742) images as test images, each in a fold whose training side never
saw its group, and pairs the systems fold by fold.

The folds (`assign_folds`): the images of both fixed splits pooled, the groups of the
loaders' own rule (icon-name word, stamp) kept whole, dealt into K folds by scikit-learn's
StratifiedGroupKFold (shuffled with a fixed seed, so the same on every machine with the
same scikit-learn), which evens out each class's share across folds as far as whole
groups allow. A class with fewer than 2 images on
one side of a fold is left out of that fold on both sides (a run's train and test folders
must hold the same classes, each with 2 images or more); the fold's record lists it.

Per set and fold F (its seed is F), exactly what a user runs:
    contrastkit train --dataset FOLDFOLDER --max-time BUDGET --seed F -o RUN
(the run's own evaluation: kNN and linear probe of the trained encoder, raw pixels and the
run's random-init encoder, FOLDFOLDER/train as bank). Nothing is chosen here.

Rows: per (dataset, fold, system, metric) with the fold's test size, then per (dataset,
system, metric) the mean and sample std over the folds, the pooled accuracy (correct
answers over all test images) and, for the trained encoder, its paired difference to each
baseline over the folds (mean, std, folds won; a tie is not won).

Usage:
    python -m benchmarks.defaults_folds [--sets mate-icons,tux-stamps] [--folds 4]
        [--budget 5m] [--root runs/bench-defaults-folds] [--output defaults_folds] [--resume]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import commands_so_far, previous_results, print_table, write_results
from benchmarks.defaults import (
    BASELINES,
    ROOT,
    budget_and_sets,
    record_run,
    resumed,
    run_one,
    summaries,
)
from benchmarks.defaults_validation import GROUPED, export_groups, link_or_copy
from contrastkit.data.eval_sets import export_image_folder

FOLD_SEED = 0  # the shuffle of StratifiedGroupKFold: the same folds on every machine
ACCURACIES = ("knn_top1", "linear_top1")
MIN_PER_SIDE = 2  # images of a class on each side of a fold (`contrastkit train` needs 2)


def exported_items(dataset: str, folder: Path) -> list[tuple[Path, str, str]]:
    """(file, class folder, group) of every image of both splits of an exported set."""
    items = []
    for split in ("train", "test"):
        groups = export_groups(dataset, split)
        for path in sorted((folder / split).glob("*/*.png")):
            items.append((path, path.parent.name, groups[path.stem]))
    return items


def assign_folds(classes: list[str], groups: list[str], folds: int) -> np.ndarray:
    """The fold (0..folds-1) of each item: groups whole, class shares as even as they allow
    (StratifiedGroupKFold, shuffled with FOLD_SEED).

    Raises:
        ValueError: fewer groups than folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if len(set(groups)) < folds:
        raise ValueError(f"{len(set(groups))} groups cannot fill {folds} folds")
    out = np.empty(len(classes), dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=FOLD_SEED)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(classes)), classes, groups)):
        out[test] = fold
    return out


def fold_folder(
    items: list[tuple[Path, str, str]], folds: np.ndarray, fold: int, out: Path
) -> dict[str, Any]:
    """Write OUT/train/<class>/ (the other folds) and OUT/test/<class>/ (fold `fold`) as hard
    links (copies across file systems), leaving out classes with fewer than MIN_PER_SIDE
    images on one side (a run needs them on both).

    Returns:
        {"train": n, "test": m, "left_out": [classes]}.
    """
    sides: dict[str, Counter] = {"test": Counter(), "train": Counter()}
    for (_, name, _), f in zip(items, folds, strict=True):
        sides["test" if f == fold else "train"][name] += 1
    kept = {c for c in sides["test"] if min(sides["test"][c], sides["train"][c]) >= MIN_PER_SIDE}
    shutil.rmtree(out, ignore_errors=True)
    counts: dict[str, Any] = {"train": 0, "test": 0}
    for (path, name, _), f in zip(items, folds, strict=True):
        if name not in kept:
            continue
        side = "test" if f == fold else "train"
        link_or_copy(path, out / side / name / path.name)
        counts[side] += 1
    counts["left_out"] = sorted((set(sides["test"]) | set(sides["train"])) - kept)
    return counts


def pooled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (dataset, system, accuracy metric): correct answers over all folds' test images,
    and for the trained encoder the paired difference to each baseline over the folds."""
    acc: dict[tuple, dict[int, float]] = {}
    sizes: dict[tuple, int] = {}
    for r in rows:
        if r["metric"] in ACCURACIES:
            acc.setdefault((r["dataset"], r["system"], r["metric"]), {})[r["fold"]] = r["value"]
            sizes[(r["dataset"], r["fold"])] = r["test_images"]
    out = []
    for (dataset, system, metric), per_fold in acc.items():
        n = [sizes[(dataset, f)] for f in per_fold]
        correct = sum(v * m for v, m in zip(per_fold.values(), n, strict=True))
        line = {"dataset": dataset, "system": system, "metric": metric, "folds": len(per_fold),
                "pooled": correct / sum(n)}  # fmt: skip
        if system.startswith("trained encoder"):
            for base in BASELINES:
                other = acc.get((dataset, base, metric), {})
                gaps = [v - other[f] for f, v in per_fold.items() if f in other]
                if gaps:
                    line[f"minus {base}"] = statistics.mean(gaps)
                    line[f"minus {base} std"] = statistics.stdev(gaps) if len(gaps) > 1 else 0.0
                    line[f"folds won over {base}"] = f"{sum(g > 0 for g in gaps)}/{len(gaps)}"
        out.append(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(GROUPED), help="comma-separated set names")
    parser.add_argument("--folds", type=int, default=4, help="grouped folds per set")
    parser.add_argument("--budget", default="5m", help="wall-clock budget per run")
    parser.add_argument("--root", default=str(ROOT / "runs" / "bench-defaults-folds"))
    parser.add_argument("--output", default="defaults_folds", help="results/<output>.json")
    parser.add_argument("--resume", action="store_true", help="run only what OUTPUT.json lacks")
    args = parser.parse_args()
    budget, sets = budget_and_sets(parser, args.budget, args.sets, GROUPED)
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, got {args.folds}")
    root = Path(args.root)
    previous = previous_results(args.output) if args.resume else None
    if previous and (previous.get("fold_count"), previous.get("budget_seconds")) != (
        args.folds,
        budget,
    ):
        parser.error(
            f"--resume: {args.output}.json holds {previous.get('fold_count')} folds of "
            f"{previous.get('budget_seconds')} s, not {args.folds} of {budget} s; its folds "
            "would not pair with these (another --output starts afresh)"
        )
    rows, runs = resumed(previous)
    done = {(r["dataset"], r["seed"]) for r in runs}
    layout: dict[str, list[dict[str, Any]]] = dict(previous.get("folds", {})) if previous else {}

    def save(complete: bool) -> Path:
        return write_results(
            args.output, rows + summaries(rows), pooled=pooled(rows), runs=runs, folds=layout,
            budget_seconds=budget, fold_count=args.folds,
            split=f"{args.folds} folds by group over both fixed splits, StratifiedGroupKFold "
            f"seed {FOLD_SEED}; fold F trains with seed F",
            competing_load=any(r["competing_load"] for r in runs), complete=complete,
            commands=commands_so_far(previous),
        )  # fmt: skip

    for name in sets:
        export_image_folder(name, root / "data" / name)  # kept if written before
        items = exported_items(name, root / "data" / name)
        folds = assign_folds([c for _, c, _ in items], [g for _, _, g in items], args.folds)
        layout[name] = []
        for fold in range(args.folds):
            folder = root / "folds" / name / f"fold{fold}"
            counts = fold_folder(items, folds, fold, folder)
            layout[name].append(counts)
            print(f"{name} fold {fold}: {counts}", flush=True)
            if (name, fold) in done:
                continue
            info = run_one(folder, root / "runs" / name / f"fold{fold}", "default", fold,
                           budget, 0.5)  # fmt: skip
            found = record_run(rows, runs, name, "default", fold, info)
            for r in found:
                r.update(fold=fold, test_images=counts["test"])
            knn = {r["system"]: round(r["value"], 3) for r in found if r["metric"] == "knn_top1"}
            print(f"  kNN {knn}; {info['steps']} steps, others' CPU share "
                  f"{info['load'].get('other_cpu_share', '?')}", flush=True)  # fmt: skip
            save(complete=False)
    table = pooled(rows)
    print_table(table, list(dict.fromkeys(k for line in table for k in line)))
    print(f"written {save(complete=True)}")


if __name__ == "__main__":
    main()
