"""SimCLR on Fashion-MNIST for a fixed wall-clock budget: contrastkit against LightlySSL.

Trains on the 60,000 training images (labels unused) and reports, on the 10,000 test
images, weighted kNN accuracy (k=200, t=0.1, cosine; the training set as the bank) and
linear-probe accuracy / macro F1 (L-BFGS logistic regression on frozen, standardised
backbone features) for: raw pixels, the randomly initialised encoder, contrastkit SimCLR,
and the same recipe through LightlySSL (same backbone, batch size, optimiser, schedule,
precision, augmentation settings and time budget; see benchmarks/lightly_simclr.py).

With --seeds N every trained row (and the random-init encoder) runs with seeds 0..N-1,
contrastkit and LightlySSL alternating per seed, and the summary rows give the mean and
sample std over seeds of kNN and linear accuracy.

Usage:
    python -m benchmarks.fashion_mnist [--budget 600] [--seeds 3] [--config ...]
        [--skip-lightly] [--lightly-workers 1] [--output fashion_mnist]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from benchmarks.common import mean_std, write_results
from benchmarks.lightly_simclr import train_lightly
from contrastkit.evaluate.features import raw_features
from contrastkit.evaluate.report import EvalRow, evaluate_features, format_table, rows_to_records
from contrastkit.modalities.image import ImageModality, embed_images, evaluation_split
from contrastkit.pipeline.evaluate_run import load_run_model
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train
from contrastkit.recipes import RECIPE_DIR

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds")
    parser.add_argument("--config", default=str(RECIPE_DIR / "simclr_fashion_mnist.yaml"))
    parser.add_argument("--skip-lightly", action="store_true")
    parser.add_argument("--lightly-workers", type=int, default=1, help="DataLoader workers")
    parser.add_argument("--run-dir", default=str(ROOT / "runs" / "bench-fashion-mnist"))
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per trained row")
    parser.add_argument("--output", default="fashion_mnist", help="results/<output>.json")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")

    cfg = load_config(
        args.config,
        {
            "train.max_time": args.budget,
            "train.epochs": None,
            "train.steps": None,
            "train.monitor_every": 0,
            "data.holdout": 0,
            "train.run_dir": args.run_dir,
        },
    )
    cfg.train.epochs = cfg.train.steps = None
    modality = ImageModality()
    data = modality.prepare(cfg, None)  # data.holdout is 0: data.train is the whole split
    train_set, test_set = evaluation_split(data)
    cfg = modality.resolve(cfg, data)
    k, t = cfg.eval.knn_k, cfg.eval.knn_temperature
    rows: list[EvalRow] = []

    def score(name: str, encoder_or_none, extra: dict | None = None) -> None:
        start = time.perf_counter()
        if encoder_or_none is None:
            f_train, f_test = raw_features(train_set.images), raw_features(test_set.images)
        else:
            f_train = embed_images(encoder_or_none, train_set.images, cfg)
            f_test = embed_images(encoder_or_none, test_set.images, cfg)
        row = evaluate_features(
            name, f_train, train_set.labels, f_test, test_set.labels, k=k, temperature=t
        )
        row.extra.update(extra or {})
        row.extra["eval_seconds"] = time.perf_counter() - start
        rows.append(row)
        print(format_table([row]), flush=True)

    score("raw pixels", None)
    for seed in range(args.seeds):
        cfg.train.seed = seed
        cfg.train.run_dir = f"{args.run_dir}/seed{seed}" if args.seeds > 1 else args.run_dir
        torch.manual_seed(seed)
        score("random-init encoder", modality.build_encoder(cfg, data), {"seed": seed})
        result, run_dir = train(cfg, progress=True)
        score(
            "contrastkit SimCLR",
            load_run_model(run_dir)[3],
            {
                "seed": seed,
                "pairs_per_s": result.items_per_second,
                "epochs": result.epochs,
                "steps": result.steps,
                "train_seconds": result.train_seconds,
            },
        )
        if not args.skip_lightly:
            out = train_lightly(cfg, data, args.budget, args.lightly_workers)
            score(
                "LightlySSL SimCLR",
                out["backbone"],
                {k2: out[k2] for k2 in ("pairs_per_s", "epochs", "steps")}
                | {"seed": seed, "train_seconds": out["seconds"]},
            )

    print()
    print(format_table(rows))
    for r in rows:
        if "pairs_per_s" in r.extra:
            print(
                f"{r.system}: {r.extra['pairs_per_s']:.0f} pairs/s, {r.extra['epochs']:.2f} "
                f"epochs, {r.extra['steps']} steps in {r.extra['train_seconds']:.0f} s"
            )
    records = [  # every record of a seeded row carries its seed
        rec | ({"seed": row.extra["seed"]} if "seed" in row.extra else {})
        for row in rows
        for rec in rows_to_records([row])
        if rec["metric"] != "seed"  # the seed is a key of each record, not a metric
    ]
    summary = _summary(records) if args.seeds > 1 else []
    for r in summary:
        print(f"{r['system']} {r['metric']}: {r['value']:.4f} +- {r['std']:.4f} ({r['n']} seeds)")
    path = write_results(
        args.output,
        records + summary,
        seeds=args.seeds,
        budget_seconds=args.budget,
        recipe=cfg.model_dump(mode="json"),
        lightly_workers=args.lightly_workers,
    )
    print(f"written {path}")


def _summary(records: list[dict]) -> list[dict]:
    """Mean and sample std over seeds of kNN and linear accuracy, per system."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if r["metric"] in ("knn_top1", "linear_top1") and "seed" in r:
            groups.setdefault((r["system"], r["metric"] + "_mean"), []).append(r["value"])
    return [{"system": s, "metric": m, **stats} for (s, m), stats in mean_std(groups).items()]


if __name__ == "__main__":
    main()
