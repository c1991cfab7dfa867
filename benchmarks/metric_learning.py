"""Metric learning on font-letters: MAP@R of multi-similarity with m-per-class batches vs
batch-hard triplets vs the random-init encoder (and raw pixels).

Data: font-letters (capitals A-Z in 457 display fonts, 28x28 grayscale, 26 classes; the
test split's 80 fonts are of families training never saw). Every system starts from the
packaged recipe `ms_font_letters` (CompactCNN [32, 64, 128, 256], 2x2 pooled 1024-d
features, batch 128, SGD, `--budget` seconds of training, precision "auto", 2 views):

- "multi-similarity + m-per-class": the recipe as it is (alpha 2, beta 50, base 0.5,
  epsilon 0.1; 8 glyphs of each of 16 letters per batch);
- "triplet batch-hard": method triplet, miner batch_hard, margin 0.2, cosine, the labels
  as positives, shuffled batches (the usual way it is run);
- `--extra` adds "proxy-anchor" (alpha 32, delta 0.1, proxies at 100x the rate) and
  "multi-similarity + XBM" (the first plus a cross-batch memory of 2,048 rows after 100
  steps).

Metrics, on the test split searched against itself with the query left out (Musgrave et
al. 2020): MAP@R, R-precision, precision@1, all on cosine similarity of the encoder's
features (not the projection head); and weighted kNN top-1 (k=20, t=0.1) with the
training split as bank. Choices: with several `--lrs`, each system's learning rate is
chosen by MAP@R on a validation split carved from the training split (20% of its fonts,
seed 0), then every seed trains on the whole training split and the test split is scored
once per seed. With one learning rate nothing is chosen. Rows per seed, then mean and
sample std over `--seeds`; the machine's load is recorded (benchmarks.common).

Usage:
    python -m benchmarks.metric_learning [--budget 300] [--seeds 3] [--lrs 0.1]
        [--extra] [--threads N]
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from benchmarks.common import mean_std, print_table, write_results
from contrastkit.data.dataset import ImageDataset
from contrastkit.evaluate.features import raw_features
from contrastkit.evaluate.knn import knn_accuracy
from contrastkit.evaluate.metric_retrieval import RETRIEVAL_METRICS, retrieval_scores
from contrastkit.modalities.image import ImageModality, embed_images
from contrastkit.modalities.image_config import build_image_views
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import build_method, trainer_for
from contrastkit.train.batches import ImageBatches

RECIPE = "ms_font_letters"
SYSTEMS: dict[str, dict[str, Any]] = {
    "multi-similarity + m-per-class": {},
    "triplet batch-hard": {
        "method.name": "triplet", "method.miner": "batch_hard", "method.margin": 0.2,
        "method.metric": "cosine", "method.use_labels": True, "data.m_per_class": None,
    },
}  # fmt: skip
EXTRA_SYSTEMS: dict[str, dict[str, Any]] = {
    "proxy-anchor": {"method.name": "proxy_anchor", "data.m_per_class": None},
    "multi-similarity + XBM": {"method.memory_size": 2048, "method.memory_start": 100},
}
KNN_K = 20


def config(overrides: dict[str, Any], budget: float, seed: int, lr: float):
    """The recipe with a system's overrides, the budget, seed and learning rate."""
    given = {k: v for k, v in overrides.items() if v is not None}
    cfg = load_config(RECIPE, {**given, "train.max_time": budget, "train.seed": seed,
                               "optim.lr": lr, "train.monitor_every": 0})  # fmt: skip
    cfg.train.epochs = cfg.train.steps = None
    for key in overrides.keys() - given.keys():  # None: unset the recipe's value
        section, field = key.split(".")
        setattr(getattr(cfg, section), field, None)
    return cfg


def validation_split(ids: list[str], share: float = 0.2, seed: int = 0) -> tuple[list, list]:
    """(fit rows, validation rows) of a training split whose ids are "<font>/<letter>": a
    `share` of the fonts, drawn with `seed`, is held out whole."""
    fonts = sorted({i.split("/", 1)[0] for i in ids})
    order = torch.randperm(len(fonts), generator=torch.Generator().manual_seed(seed)).tolist()
    held = {fonts[i] for i in order[: max(1, round(share * len(fonts)))]}
    fit = [r for r, i in enumerate(ids) if i.split("/", 1)[0] not in held]
    val = [r for r, i in enumerate(ids) if i.split("/", 1)[0] in held]
    return fit, val


def scores(features: tuple[torch.Tensor, torch.Tensor], train: ImageDataset,
           test: ImageDataset) -> dict[str, float]:  # fmt: skip
    """MAP@R, R-precision, precision@1 of test against itself; kNN top-1 with train as bank."""
    f_train, f_test = features
    out = retrieval_scores(f_test, test.labels)
    out["knn_top1"] = knn_accuracy(f_train, train.labels, f_test, test.labels, k=KNN_K)
    return out


def train_encoder(cfg, train: ImageDataset) -> tuple[torch.nn.Module, Any]:
    """Train the configured method on `train` for its budget; (trained encoder, the
    resolved config its features are embedded with)."""
    modality = ImageModality()
    data = modality.prepare(cfg, None)
    data.train = train  # a validation run trains on part of the split
    cfg = modality.resolve(cfg, data)
    torch.manual_seed(cfg.train.seed)
    method = build_method(cfg, modality, data)
    trainer = trainer_for(cfg, method, progress=False, device=torch.device("cpu"))
    views = build_image_views(cfg.views)
    source = ImageBatches(
        train, views, channels_last=cfg.train.channels_last, m_per_class=cfg.data.m_per_class
    )
    trainer.fit(source)
    return method.encoder, cfg


def summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample std over seeds per (system, metric)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if "seed" in r:
            groups.setdefault((r["system"], r["metric"]), []).append(float(r["value"]))
    return [{"system": s, "metric": m, **stats} for (s, m), stats in mean_std(groups).items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds each")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per system")
    parser.add_argument("--lrs", default="0.1", help="comma-separated; >1: chosen on validation")
    parser.add_argument("--extra", action="store_true", help="also proxy-anchor and XBM")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", default="metric_learning")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    lrs = [float(x) for x in args.lrs.split(",")]
    systems = {**SYSTEMS, **(EXTRA_SYSTEMS if args.extra else {})}
    base = config({}, args.budget, 0, lrs[0])
    modality = ImageModality()
    data = modality.prepare(base, None)
    base = modality.resolve(base, data)
    train, test = data.train, data.test
    rows: list[dict[str, Any]] = []
    chosen: dict[str, float] = {}

    def add(system: str, values: dict[str, float], **extra: Any) -> None:
        rows.extend({"system": system, "metric": m, "value": v, **extra} for m, v in values.items())
        shown = ", ".join(f"{m} {v:.4f}" for m, v in values.items())
        print(f"{system} {extra or ''}: {shown}", flush=True)
        write_results(args.output, rows + summaries(rows), budget_seconds=args.budget,
                      seeds=args.seeds, lrs=lrs, chosen_lr=chosen, complete=False)  # fmt: skip

    add("raw pixels", scores((raw_features(train.images), raw_features(test.images)), train, test))
    for seed in range(args.seeds):
        torch.manual_seed(seed)
        encoder = modality.build_encoder(base, data, pretrained=False)
        features = (
            embed_images(encoder, train.images, base),
            embed_images(encoder, test.images, base),
        )
        add("random-init encoder", scores(features, train, test), seed=seed)

    for name, overrides in systems.items():
        chosen[name] = lrs[0]
        if len(lrs) > 1:  # choose on held-out training fonts, never on the test split
            fit_rows, val_rows = validation_split(train.ids)
            fit, val = train.subset(fit_rows), train.subset(val_rows)
            found = {}
            for lr in lrs:
                cfg = config(overrides, args.budget, 0, lr)
                enc, run = train_encoder(cfg, fit)
                f = embed_images(enc, fit.images, run), embed_images(enc, val.images, run)
                found[lr] = scores(f, fit, val)["map_at_r"]
                print(f"{name}: lr {lr:g} validation MAP@R {found[lr]:.4f}", flush=True)
            chosen[name] = max(found, key=found.__getitem__)
        for seed in range(args.seeds):
            cfg = config(overrides, args.budget, seed, chosen[name])
            encoder, run = train_encoder(cfg, train)
            features = (
                embed_images(encoder, train.images, run),
                embed_images(encoder, test.images, run),
            )
            add(name, scores(features, train, test), seed=seed, lr=chosen[name])

    print_table(summaries(rows), ["system", "metric", "value", "std", "n"])
    metrics = [*RETRIEVAL_METRICS, "knn_top1"]
    raw = {r["metric"]: r["value"] for r in rows if r["system"] == "raw pixels"}
    print("raw pixels (one run): " + ", ".join(f"{m} {raw[m]:.4f}" for m in metrics))
    path = write_results(args.output, rows + summaries(rows), budget_seconds=args.budget,
                         seeds=args.seeds, lrs=lrs, chosen_lr=chosen, complete=True)  # fmt: skip
    print(f"written {path}")


if __name__ == "__main__":
    main()
