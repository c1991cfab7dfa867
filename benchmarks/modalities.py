"""Every modality through the one run path: each named dataset's packaged recipe trained
by `contrastkit train` (a subprocess, as a user runs it), then scored by the modality's own
evaluation beside its raw-input baseline and the random-init encoder (eval.json).

Budgets as in the earlier per-modality benchmarks: `--budget` seconds of training per
recipe (default 180), `--table-budget` per table (default 60); the recipe's own budget is
replaced. The main metric of each modality (`Modality.main_metric`) decides "beats random
init". Image, audio, graph and table runs also get the few-label rows (`--few-labels`:
linear probe, fine-tuning and training from scratch with 1% / 10% of the labels).
Results: benchmarks/results/modalities.json.

Usage:
    python -m benchmarks.modalities [--budget 180] [--table-budget 60]
        [--recipes simclr_fashion_mnist,debian_descriptions,...] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from benchmarks.common import print_table, run_cli, write_results
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.settings import load_config
from contrastkit.recipes import RECIPE_DIR

CONFIGS = RECIPE_DIR
RECIPES = (
    "simclr_fashion_mnist", "digits", "debian_descriptions", "wordnet", "instrument_notes",
    "debian_graph", "table_credit", "table_churn", "table_hpc", "table_breast_cancer",
    "table_wine", "emoji", "movielens",
)  # fmt: skip


STRUCTURE = ("neighbour-mean features", "common neighbours", "Adamic-Adar")  # graph baselines
FEW_LABELS = ("image", "audio", "graph", "table")  # modalities with a few-label evaluation


def run_recipe(name: str, budget: float, seed: int, out: Path, few_labels: str = "") -> list[dict]:
    """Train and evaluate one recipe; its eval.json rows, tagged with recipe and modality."""
    recipe = CONFIGS / f"{name}.yaml"
    cfg = load_config(recipe)
    run = out / name
    shutil.rmtree(run, ignore_errors=True)
    cmd = ["train", "--config", str(recipe), "--max-time", str(budget),
           "--seed", str(seed), "-o", str(run), "--no-progress", "--no-report"]  # fmt: skip
    if few_labels and cfg.data.modality in FEW_LABELS:
        cmd += ["--set", f"eval.few_labels=[{few_labels}]"]
    start = time.perf_counter()
    done = run_cli(cmd, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr.strip().splitlines()[-1]}")
    summary = json.loads((run / "summary.json").read_text())
    main = get_modality(cfg.data.modality).main_metric
    rows = []
    for r in json.loads((run / "eval.json").read_text())["rows"]:
        rows.append({"recipe": name, "modality": cfg.data.modality, "dataset": cfg.data.dataset,
                     **r, "main": r["metric"] == main})  # fmt: skip
    rows.append({"recipe": name, "modality": cfg.data.modality, "dataset": cfg.data.dataset,
                 "system": f"contrastkit {cfg.method.name}", "metric": "train_seconds",
                 "value": summary["train_seconds"], "steps": summary["steps"],
                 "wall_seconds": round(time.perf_counter() - start, 1), "main": False})  # fmt: skip
    return rows


def verdicts(rows: list[dict]) -> list[dict]:
    """Per recipe, the main metric of the trained model, the raw input and random init."""
    out = []
    for recipe in dict.fromkeys(r["recipe"] for r in rows):
        main = {r["system"]: r["value"] for r in rows if r["recipe"] == recipe and r["main"]}
        trained = next((v for s, v in main.items() if s.startswith("contrastkit")), None)
        initial = next((v for s, v in main.items() if s.startswith("random-init")), None)
        raw = next((v for s, v in main.items() if s.startswith(("raw", "TF-IDF"))), None)
        structure = max((v for s, v in main.items() if s in STRUCTURE), default=None)
        metric = next(r["metric"] for r in rows if r["recipe"] == recipe and r["main"])
        out.append({"recipe": recipe, "metric": metric, "raw": raw, "random_init": initial,
                    "structure": structure, "trained": trained,
                    "beats_random_init": trained > initial})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds each")
    parser.add_argument("--table-budget", type=float, default=60.0, help="seconds per table")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--few-labels", default="0.01,0.1", help="label shares of the few-label rows ('' skips)"
    )
    parser.add_argument("--runs", default="runs/bench-modalities")
    parser.add_argument("--output", default="modalities")
    args = parser.parse_args()
    rows: list[dict] = []
    for name in args.recipes.split(","):
        budget = args.table_budget if name.startswith("table_") else args.budget
        try:
            found = run_recipe(name, budget, args.seed, Path(args.runs), args.few_labels)
        except Exception as exc:  # one failing recipe must not lose the others' rows
            print(f"{name} failed: {exc}", flush=True)
            found = [{"recipe": name, "system": "failed", "metric": "error", "value": str(exc),
                      "main": False}]  # fmt: skip
        print_table(found, ["recipe", "system", "metric", "value"])
        rows += found
        write_results(args.output, rows, budget_seconds=args.budget,
                      table_budget_seconds=args.table_budget)  # fmt: skip
    table = verdicts([r for r in rows if r["system"] != "failed"])
    columns = ["recipe", "metric", "raw", "random_init", "structure", "trained"]
    print_table(table, [*columns, "beats_random_init"])
    path = write_results(args.output, rows, verdicts=table, budget_seconds=args.budget,
                         table_budget_seconds=args.table_budget)  # fmt: skip
    print(f"written {path}")


if __name__ == "__main__":
    main()
