"""Transfer: SimCLR pre-trained on Fashion-MNIST, fine-tuned on scikit-learn digits with 1%,
10% and 100% of the labels, against the same CNN from random init trained on those labels
(and linear probes of both encoders and of the raw pixels).

Both steps run as a user runs them: `contrastkit train --config
simclr_fashion_mnist --max-time BUDGET` (the recipe's budget replaced, no
evaluation on Fashion-MNIST: the online kNN monitor of summary.json is reported instead),
then `contrastkit finetune RUN --dataset digits --seeds N`: digits (8x8 grey) are resized
to the run's 28x28; 20% of each class of the digits training split (1,437) is carved off
for validation, which chooses the fine-tuning learning rate and step and the linear
probe's C; the 360 digits test images are scored once. Rows: mean and sample std over the
seeds (each seed draws its own label subsets, random init and fine-tuning batches).
Results: benchmarks/results/transfer.json.

Usage:
    python -m benchmarks.transfer [--budget 300] [--seeds 3] [--labels 0.01,0.1,1]
        [--steps 200] [--batch-size 64] [--lr 3e-3,1e-3,3e-4] [--threads 1] [--run DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from benchmarks.common import print_table, run_cli, write_results
from contrastkit.recipes import RECIPE_DIR

CONFIGS = RECIPE_DIR
RECIPE = CONFIGS / "simclr_fashion_mnist.yaml"


def _call(cmd: list[str]) -> str:
    done = run_cli(cmd, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:2])}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def pretrain(run: Path, budget: float, epochs: float, seed: int, threads: int) -> dict:
    """SimCLR on Fashion-MNIST through `contrastkit train` for `epochs` (when > 0, so the
    result does not depend on the machine's load) or `budget` seconds; its summary.json."""
    shutil.rmtree(run, ignore_errors=True)
    limit = (
        ["--epochs", str(epochs), "--max-time", "24h"]
        if epochs > 0
        else ["--max-time", str(budget)]
    )
    _call(["train", "--config", str(RECIPE), *limit,
           "--seed", str(seed), "--threads", str(threads), "-o", str(run), "--no-progress",
           "--no-evaluate", "--no-report"])  # fmt: skip
    return json.loads((run / "summary.json").read_text())


def transfer(run: Path, args: argparse.Namespace) -> dict:
    """`contrastkit finetune` on digits; its {"rows", "settings"}."""
    out = run / "finetune-digits.json"
    _call(["finetune", str(run), "--dataset", "digits", "--labels", args.labels,
           "--seeds", str(args.seeds), "--steps", str(args.steps), "--batch-size",
           str(args.batch_size), "--lr", args.lr, "--threads", str(args.threads),
           "-o", str(out)])  # fmt: skip
    return json.loads(out.read_text())


def verdicts(rows: list[dict]) -> list[dict]:
    """Per label share: the better pre-trained row against the better random-init row (and
    the raw-pixel probe); it beats random init when the gap of the means exceeds the sum of
    their stds."""
    out = []
    for metric in dict.fromkeys(r["metric"] for r in rows):
        by = {r["system"]: r for r in rows if r["metric"] == metric}
        best = max((r for s, r in by.items() if s.startswith("contrastkit")),
                   key=lambda r: r["value"])  # fmt: skip
        rival = max((r for s, r in by.items() if s.startswith("random init")),
                    key=lambda r: r["value"])  # fmt: skip
        gap = best["value"] - rival["value"]
        noise = (best["std"] or 0.0) + (rival["std"] or 0.0)
        out.append({"metric": metric, "labels": best["labels"], "best pre-trained":
                    best["system"], "random init (best)": rival["system"], "gap": gap,
                    "raw pixels": by["raw pixels: linear probe"]["value"],
                    "beats random init": gap > noise})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300.0, help="pre-training seconds")
    parser.add_argument(
        "--epochs",
        type=float,
        default=0.0,
        help="pre-training epochs instead of --budget (0 = use --budget)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--labels", default="0.01,0.1,1")
    parser.add_argument("--steps", type=int, default=200, help="fine-tuning steps per run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", default="3e-3,1e-3,3e-4", help="fine-tuning learning rates")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each step")
    parser.add_argument("--seed", type=int, default=0, help="pre-training seed")
    parser.add_argument("--run", default="", help="reuse this pre-trained run folder")
    parser.add_argument("--runs", default="runs/bench-transfer")
    parser.add_argument("--output", default="transfer")
    args = parser.parse_args()

    start = time.perf_counter()
    run = Path(args.run or Path(args.runs) / "simclr-fashion-mnist")
    if args.run:
        summary = json.loads((run / "summary.json").read_text())
    else:
        summary = pretrain(run, args.budget, args.epochs, args.seed, args.threads)
    pre = time.perf_counter() - start
    print(f"pre-trained {summary['steps']} steps ({summary['epochs']:.2f} epochs) in "
          f"{summary['train_seconds']:.0f} s, monitor kNN {summary['knn_accuracy']:.3f}",
          flush=True)  # fmt: skip
    found = transfer(run, args)
    rows = [{"system": r["system"], "metric": r["metric"], "value": r["value"],
             "std": r.get("std"), "labels": r["labels"], "values": r.get("values"),
             "chosen": r["chosen"]} for r in found["rows"]]  # fmt: skip
    print_table(rows, ["system", "metric", "value", "std", "labels"])
    table = verdicts(rows)
    print_table(table, list(table[0]))
    keys = ("steps", "epochs", "train_seconds", "items_per_second", "knn_accuracy")
    pretraining = {key: summary[key] for key in keys}
    path = write_results(
        args.output, rows, verdicts=table, pretraining=pretraining,
        finetune_settings=found["settings"], budget_seconds=args.budget,
        pretrain_epochs=args.epochs,
        wall_seconds={"pretrain": round(pre), "total": round(time.perf_counter() - start)},
    )  # fmt: skip
    print(f"written {path}")


if __name__ == "__main__":
    main()
