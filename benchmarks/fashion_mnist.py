"""SimCLR on Fashion-MNIST for a fixed wall-clock budget: contrastkit against LightlySSL.

Trains on the 60,000 training images (labels unused) and reports, on the 10,000 test
images, weighted kNN accuracy (k=200, t=0.1, cosine; the training set as the bank) and
linear-probe accuracy / macro F1 (L-BFGS logistic regression on frozen, standardised
backbone features) for: raw pixels, the randomly initialised encoder, contrastkit SimCLR,
and the same recipe through LightlySSL (same backbone, batch size, optimiser, schedule,
precision, augmentation settings and time budget; see benchmarks/lightly_simclr.py).

Usage:
    python benchmarks/fashion_mnist.py [--budget 600] [--config simclr_fashion_mnist]
        [--skip-lightly] [--lightly-workers 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from benchmarks.common import write_results
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
    args = parser.parse_args()

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
    torch.manual_seed(cfg.train.seed)
    score("random-init encoder", modality.build_encoder(cfg, data))

    result, run_dir = train(cfg, progress=True)
    score(
        "contrastkit SimCLR",
        load_run_model(run_dir)[3],
        {
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
            | {"train_seconds": out["seconds"]},
        )

    print()
    print(format_table(rows))
    for r in rows:
        if "pairs_per_s" in r.extra:
            print(
                f"{r.system}: {r.extra['pairs_per_s']:.0f} pairs/s, {r.extra['epochs']:.2f} "
                f"epochs, {r.extra['steps']} steps in {r.extra['train_seconds']:.0f} s"
            )
    path = write_results(
        "fashion_mnist",
        rows_to_records(rows),
        budget_seconds=args.budget,
        recipe=cfg.model_dump(mode="json"),
        lightly_workers=args.lightly_workers,
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
