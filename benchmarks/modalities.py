"""Every modality in one table: the contrastive encoder against the raw-feature baseline and
the random-init encoder on the modality's task, plus semi-supervised rows (pre-trained +
fine-tuned vs trained from scratch on 10% / 1% of the labels).

Each modality's benchmark lives in benchmarks/modality_<name>.py (`run(budget, seed)`);
this script runs the chosen ones one after the other with the same training budget and
writes benchmarks/results/modalities.json.

Usage:
    python -m benchmarks.modalities [--budget 120] [--modalities table,audio,graph,clip]
"""

from __future__ import annotations

import argparse
import importlib
import time
import traceback

from benchmarks.common import print_table, write_results

MODALITIES = ("table", "audio", "graph", "clip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds each")
    parser.add_argument("--modalities", default=",".join(MODALITIES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="modalities")
    args = parser.parse_args()
    rows: list[dict] = []
    for name in args.modalities.split(","):
        module = importlib.import_module(f"benchmarks.modality_{name}")
        start = time.perf_counter()
        try:
            found = module.run(args.budget, seed=args.seed)
        except Exception as exc:  # one failing modality must not lose the others' rows
            traceback.print_exc()
            found = [{"modality": name, "system": "failed", "metric": "error",
                      "value": f"{type(exc).__name__}: {exc}"}]  # fmt: skip
        for row in found:
            row.setdefault("modality", name)
        print_table(found, ["modality", "dataset", "system", "metric", "value"])
        print(f"{name}: {time.perf_counter() - start:.0f} s\n")
        rows += found
        write_results(args.output, rows, budget_seconds=args.budget)  # after each modality
    print_table(rows, ["modality", "dataset", "system", "metric", "value"])
    print(f"written {write_results(args.output, rows, budget_seconds=args.budget)}")


if __name__ == "__main__":
    main()
