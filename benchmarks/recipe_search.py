"""Choose a Fashion-MNIST recipe on the validation split: short runs of candidate settings.

Every candidate is a packaged recipe (default simclr_fashion_mnist) plus overrides, trained
for `--budget` seconds on 50,000 of the 60,000 training images and scored by weighted kNN
(k=200, t=0.1) with those 50,000 as the bank and the other 10,000 training images as the
queries (the fixed draw of `benchmarks.methods --validation`). The test split is never
read, so what wins here may be cited on the test split afterwards. `--linear` adds the
linear probe (about a minute per row). Candidates come from a YAML file: a list of
{name: ..., set: {key: value, ...}}; `--only a,b` runs a subset, `--resume` keeps the
candidates already in results/<output>.json.

Usage:
    python -m benchmarks.recipe_search --grid benchmarks/grids/simclr_round1.yaml
        [--recipe simclr] [--budget 200] [--seed 0] [--linear] [--output NAME] [--resume]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import yaml

from benchmarks.common import (
    commands_so_far,
    load_snapshot,
    machine_load,
    previous_results,
    write_results,
)
from benchmarks.methods import _recipe, validation_split
from contrastkit.errors import ContrastkitError
from contrastkit.evaluate.report import evaluate_features, format_table, rows_to_records
from contrastkit.modalities.image import ImageModality, embed_images
from contrastkit.pipeline.evaluate_run import load_run_model
from contrastkit.pipeline.train_run import train

ROOT = Path(__file__).resolve().parent.parent


def read_grid(path: str | Path) -> list[dict]:
    """The candidates of a grid file, each {"name": str, "set": {key: value}}."""
    grid = yaml.safe_load(Path(path).read_text())
    if not isinstance(grid, list) or not grid:
        raise ValueError(f"{path}: expected a non-empty list of {{name, set}}, got {grid!r}")
    names: set[str] = set()
    for i, item in enumerate(grid):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"{path}: candidate {i} needs a string 'name', got {item!r}")
        if not isinstance(item.get("set", {}), dict):
            raise ValueError(f"{path}: candidate {item['name']!r}: 'set' must be a mapping")
        if item["name"] in names:
            raise ValueError(f"{path}: candidate name {item['name']!r} appears twice")
        names.add(item["name"])
        item.setdefault("set", {})
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", required=True, help="YAML list of {name, set}")
    parser.add_argument("--recipe", default="simclr", help="packaged <recipe>_fashion_mnist")
    parser.add_argument("--budget", type=float, default=200.0, help="training seconds each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    parser.add_argument("--linear", action="store_true", help="also fit the linear probe")
    parser.add_argument("--output", default="recipe_search", help="results/<output>.json")
    parser.add_argument("--run-root", default=str(ROOT / "runs" / "recipe-search"))
    parser.add_argument("--resume", action="store_true", help="skip candidates already scored")
    args = parser.parse_args()
    grid = read_grid(args.grid)
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {c["name"] for c in grid}
        if unknown:
            parser.error(f"--only: not in {args.grid}: {', '.join(sorted(unknown))}")
        grid = [c for c in grid if c["name"] in wanted]
    for candidate in grid:  # a bad key or value stops the search before any training
        try:
            _recipe(args.recipe, args.budget, Path(args.run_root), candidate["set"])
        except ContrastkitError as exc:
            parser.error(f"{args.grid}: candidate {candidate['name']!r}: {exc}")
    load_before = os.getloadavg()
    previous = previous_results(args.output) if args.resume else None
    kept = list((previous or {}).get("rows", []))
    done = {r["system"] for r in kept}

    base = _recipe(args.recipe, args.budget, Path(args.run_root) / "base")
    data, bank, queries = validation_split(ImageModality().prepare(base, None))
    rows = []
    settings = {r["system"]: r.get("overrides", {}) for r in kept}

    def records() -> list[dict]:
        """Every row so far; each record names its candidate's overrides."""
        return [r | {"overrides": settings[r["system"]]} for r in rows_to_records(rows)]

    for candidate in grid:
        name = candidate["name"]
        if name in done:
            print(f"{name}: in {args.output}.json already", flush=True)
            continue
        run_dir = Path(args.run_root) / name
        overrides = {**candidate["set"], "train.seed": args.seed}
        snapshot = load_snapshot()
        cfg = _recipe(args.recipe, args.budget, run_dir, overrides)
        try:
            result, run_dir = train(  # --resume: an unscored candidate's folder is replaced
                cfg, run_dir=run_dir, progress=False, data=data, overwrite=args.resume
            )
        except ContrastkitError as exc:  # a diverging candidate: report it, go on
            print(f"{name}: FAILED ({exc})", flush=True)
            continue
        run_cfg, _, _, trained = load_run_model(run_dir)
        start = time.perf_counter()
        row = evaluate_features(
            name, embed_images(trained, bank.images, run_cfg), bank.labels,
            embed_images(trained, queries.images, run_cfg), queries.labels,
            k=run_cfg.eval.knn_k, temperature=run_cfg.eval.knn_temperature, linear=args.linear,
        )  # fmt: skip
        load = machine_load(snapshot)
        settings[name] = candidate["set"]
        row.extra.update(
            seed=args.seed, steps=result.steps,
            epochs=result.epochs, items_per_s=result.items_per_second,
            eval_seconds=time.perf_counter() - start,
            other_cpu_share=load.get("other_cpu_share", float("nan")),
            competing_load=bool(load.get("competing_load")),
        )  # fmt: skip
        rows.append(row)
        print(format_table([row]), f"{result.items_per_second:,.0f} items/s", flush=True)
        write_results(
            args.output, kept + records(), split="validation",
            recipe=args.recipe, budget_seconds=args.budget, grid=str(args.grid),
            load_average={"before": load_before, "after": os.getloadavg()},
            commands=commands_so_far(previous),
        )  # fmt: skip
    ranked = sorted(
        (r for r in kept + records() if r["metric"] == "knn_top1"),
        key=lambda r: -r["value"],
    )
    print("\nvalidation kNN, best first:")
    for r in ranked:
        print(f"  {r['system']:28s} {r['value']:.4f}  {r.get('overrides', {})}")


if __name__ == "__main__":
    main()
