"""CoSENT and AnglE on human-scored word pairs (SimLex-999, WordSim-353): Spearman of the
held-out pairs, fine-tuned MiniLM against MiniLM as it is.

Per set, method and seed S, what a user runs: `contrastkit train --dataset SET --method M
--epochs E --seed S` (MiniLM-L6, the text defaults: AdamW 2e-5, batch 32, 10% warmup,
CoSENT/AnglE with the papers' scales; no other flag). The run holds out a fifth of the
pairs (the seed's shuffle, `split_texts`: 199 of SimLex-999, 70 of WordSim-353); they are
scored by the Spearman correlation of the embeddings' cosine with the human ratings, for
the trained encoder and for MiniLM as it is on the same pairs. Because a word occurs in
about two pairs, about half of the held-out pairs have both words in some training pair;
the rows also give Spearman on the held-out pairs with at least one word that no training
pair has ("unseen word"), where a fine-tuned model cannot lean on what it saw of a word.

The epochs are chosen on validation, never on the test pairs: `--validation` holds a fifth
of each seed's *training* pairs out as the scored pairs, trains on the rest and tries each
of `--epochs-grid`; `--epochs-from NAME[,NAME2]` then takes, per set and method, the epochs
with the best mean validation Spearman in results/NAME.json (and NAME2.json: a grid run in
parts).

Usage:
    python -m benchmarks.scored_pairs --validation [--epochs-grid 5,15,40] [--seeds 3]
        [--output scored_pairs_validation]
    python -m benchmarks.scored_pairs --epochs-from scored_pairs_validation [--seeds 3]
        [--output scored_pairs]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import RESULTS, mean_std, print_table, write_results
from benchmarks.matryoshka import validation_data
from contrastkit.data.text import TextData
from contrastkit.evaluate.similarity import similarity_correlation
from contrastkit.modalities.text import TextModality, TextPrepared
from contrastkit.pipeline.evaluate_run import load_run_model
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train

SETS = ["simlex-999", "wordsim-353"]
METHODS = {"cosent": "CoSENT", "angle": "AnglE"}
PRETRAINED = "MiniLM as it is"


def unseen_word_pairs(train_part: TextData, test: TextData) -> list[int]:
    """Positions of the test pairs with at least one word that no training pair has."""
    seen = set(train_part.anchor) | set(train_part.positive or [])
    pairs = zip(test.anchor, test.positive or [], strict=True)
    return [i for i, (a, b) in enumerate(pairs) if a not in seen or b not in seen]


def spearman_rows(encoder, data: TextPrepared) -> dict[str, float]:
    """Spearman of cosine with the ratings: all held-out pairs, and the unseen-word ones."""
    test = data.test
    a, b = encoder.encode(test.anchor), encoder.encode(test.positive)
    unseen = torch.tensor(unseen_word_pairs(data.train, test), dtype=torch.long)
    scores = torch.tensor(test.score)
    return {
        "spearman": similarity_correlation(a, b, test.score)["spearman"],
        "spearman (unseen word)": similarity_correlation(
            a[unseen], b[unseen], scores[unseen].tolist()
        )["spearman"],
        "pairs": len(test),
        "unseen-word pairs": len(unseen),
    }


def chosen_epochs(names: str) -> dict[tuple[str, str], int]:
    """Per (set, method): the epochs of the best mean validation Spearman in the results
    files NAME.json of `names` (comma-separated: a grid run in parts)."""
    rows = []
    for name in names.split(","):
        record = json.loads((RESULTS / f"{name.strip()}.json").read_text())
        if record.get("split") != "validation":
            raise SystemExit(f"--epochs-from {name}: not a --validation results file")
        rows += record["rows"]
    best: dict[tuple[str, str], tuple[float, int]] = {}
    for r in rows:
        if "seed" in r or r["metric"] != "spearman" or r["system"] == PRETRAINED:
            continue
        key = (r["dataset"], r["method"])
        if key not in best or r["value"] > best[key][0]:
            best[key] = (r["value"], r["epochs"])
    return {key: epochs for key, (_, epochs) in best.items()}


def summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample std over seeds per (set, system, method, epochs, metric)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        key = (r["dataset"], r["system"], r.get("method"), r.get("epochs"), r["metric"])
        groups.setdefault(key, []).append(r["value"])
    return [
        {"dataset": d, "system": s, "method": m, "epochs": e, "metric": metric, **stats}
        for (d, s, m, e, metric), stats in mean_std(groups).items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score a fifth of the training pairs; the test pairs are not read",
    )
    parser.add_argument("--epochs-grid", default="5,15,40", help="with --validation")
    parser.add_argument("--epochs-from", help="results files of --validation runs (a,b)")
    parser.add_argument("--runs", default="runs/bench-scored-pairs")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()  # fmt: skip
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.validation == bool(args.epochs_from):
        parser.error("give exactly one of --validation and --epochs-from")
    grid = [int(e) for e in args.epochs_grid.split(",")] if args.validation else []
    chosen = chosen_epochs(args.epochs_from) if args.epochs_from else {}
    split = "validation" if args.validation else "test"
    output = args.output or ("scored_pairs_validation" if args.validation else "scored_pairs")
    rows: list[dict[str, Any]] = []

    def save(complete: bool) -> Path:
        return write_results(output, rows + summaries(rows), split=split, seeds=args.seeds,
                             complete=complete, epochs_from=args.epochs_from)  # fmt: skip

    for dataset in sets:
        for seed in range(args.seeds):
            base = load_config(None, {"data.dataset": dataset, "train.seed": seed,
                                      "train.steps": 1})  # fmt: skip
            data = TextModality().prepare(base, None)
            if args.validation:
                data = validation_data(data, seed, size=max(1, len(data.train) // 5))
            scored = spearman_rows(data.start.eval(), data)
            for metric in ("spearman", "spearman (unseen word)"):
                rows.append({"dataset": dataset, "system": PRETRAINED, "metric": metric,
                             "value": scored[metric], "seed": seed, "pairs": scored["pairs"],
                             "unseen_pairs": scored["unseen-word pairs"]})  # fmt: skip
            for method in methods:
                for epochs in grid or [chosen[(dataset, method)]]:
                    run_dir = Path(args.runs) / split / f"{dataset}-{method}-e{epochs}-s{seed}"
                    shutil.rmtree(run_dir, ignore_errors=True)
                    cfg = load_config(None, {
                        "data.dataset": dataset, "method.name": method, "train.epochs": epochs,
                        "train.seed": seed, "train.run_dir": str(run_dir),
                    })  # fmt: skip
                    torch.manual_seed(seed)
                    fit, _ = train(cfg, progress=False, data=data if args.validation else None)
                    trained = load_run_model(run_dir)[3]
                    got = spearman_rows(trained, data)
                    for metric in ("spearman", "spearman (unseen word)"):
                        rows.append({"dataset": dataset, "system": METHODS[method],
                                     "method": method, "epochs": epochs, "metric": metric,
                                     "value": got[metric], "seed": seed, "steps": fit.steps,
                                     "pairs": got["pairs"]})  # fmt: skip
                    unseen = got["spearman (unseen word)"]
                    print(f"{dataset} {method} e{epochs} seed {seed}: spearman "
                          f"{got['spearman']:.3f} (MiniLM as it is {scored['spearman']:.3f}), "
                          f"unseen word {unseen:.3f}", flush=True)  # fmt: skip
                    save(False)
    print_table(summaries(rows), ["dataset", "system", "epochs", "metric", "value", "std", "n"])
    print(f"written {save(True)}")


if __name__ == "__main__":
    main()
