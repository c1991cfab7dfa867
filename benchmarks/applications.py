"""Applications on learned embeddings, one table: search, duplicates, anomalies, clustering,
recommendation and index speed (issue 5).

Sections (pick with --sections):
  search     Fashion-MNIST test images as queries against the 60k training images (flat
             index), mAP@100 with same-class results relevant.
  dedup      1,000 near-copies of test images (shift <= 1 px, brightness x0.9-1.1, pixel
             noise of std 4/255: what re-encoding, re-scanning or a small crop does to an
             image) mixed into the 10k test set; precision, recall and F1 of
             `find_duplicates` over pairs (planted pairs plus pixel-identical pairs already
             in the set count as true), each system at its own (threshold, ratio) chosen on
             the training split (benchmarks/dedup_calibration.py), scored once here.
  textdedup  Debian long descriptions (a seeded sample) embedded by MiniLM; truth = pairs
             whose word sets (lower-cased letters) have Jaccard >= 0.8, found among all
             pairs that TF-IDF or MiniLM puts within each other's 10 nearest neighbours.
  anomaly    per class c: train the encoder on the other nine classes (--anomaly-budget s),
             index their training images, score every test image by its mean cosine
             distance to its 10 nearest neighbours, AUROC with class c as the anomaly;
             averaged over the ten hold-outs; raw pixels and random-init as baselines.
  cluster    k-means (k=10) on the test embeddings: NMI and ARI against the classes.
  recommend  MovieLens, each user's latest 20% held out: the two-tower model (CLIP on the
             interactions, 20 epochs) trained as a `contrastkit train` run and scored by
             `contrastkit evaluate` against most popular, item-kNN and the random-init model;
             its rows are named as evaluate names them ("contrastkit clip", formerly
             "two-tower"; "random-init model" is new).
  index      1M random unit vectors (dim 128), 1,000 queries: queries/s of exact and
             approximate indexes, recall@10 of the approximate ones.

Image encoders: raw pixels, the CompactCNN with random weights, and a trained SimCLR
encoder (--run DIR reuses a `contrastkit train` run; otherwise one is trained for --budget s).

Usage:
    python -m benchmarks.applications [--run runs/bench-fashion-mnist] [--sections ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import print_table, write_results
from benchmarks.dedup_images import best_settings, planted_set
from benchmarks.dedup_images import score as dedup_score
from contrastkit.evaluate.features import raw_features
from contrastkit.index import (
    EmbeddingIndex,
    anomaly_scores,
    class_map_at_k,
    clustering_scores,
    find_duplicates,
    group_pairs,
    kmeans,
    normalize,
)
from contrastkit.index.dedup import pair_precision_recall
from contrastkit.modalities.image import embed_images, evaluation_split
from contrastkit.pipeline.evaluate_run import evaluate, load_run_model
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train
from contrastkit.recipes import RECIPE_DIR

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("search", "dedup", "textdedup", "anomaly", "cluster", "recommend", "index")


def _recipe(budget: float, run_dir: Path, **overrides):
    cfg = load_config(
        RECIPE_DIR / "simclr_fashion_mnist.yaml",
        {"train.max_time": budget, "train.monitor_every": 0, "data.holdout": 0,
         "train.run_dir": str(run_dir), **overrides},
    )  # fmt: skip
    cfg.train.epochs = cfg.train.steps = None
    return cfg


class Encoders:
    """Raw pixels, random-init and trained encoders, each images (N,C,H,W) -> (N, D).

    `data` is the run's prepared image data (`evaluation_split(data)`: the whole training
    split, monitor hold-out included, and the test split)."""

    def __init__(self, args: argparse.Namespace) -> None:
        if args.run:
            run_dir = Path(args.run)
        else:
            cfg = _recipe(args.budget, ROOT / "runs" / "bench-applications" / "simclr")
            _, run_dir = train(cfg, run_dir=cfg.train.run_dir, progress=False)
        self.cfg, modality, self.data, self.trained = load_run_model(run_dir)
        torch.manual_seed(0)
        self.random = modality.build_encoder(self.cfg, self.data)
        self.label = f"SimCLR ({Path(run_dir).name})"

    def systems(self):
        return {
            "raw pixels": lambda x: raw_features(x).numpy(),
            "random-init CNN": lambda x: embed_images(self.random, x, self.cfg).numpy(),
            self.label: lambda x: embed_images(self.trained, x, self.cfg).numpy(),
        }


def search(enc: Encoders, train_set, test_set, rows: list) -> None:
    for name, fn in enc.systems().items():
        start = time.perf_counter()
        bank, queries = fn(train_set.images), fn(test_set.images)
        index = EmbeddingIndex(bank, train_set.ids, "bench")
        _, positions = index.search(queries, 100)
        value = class_map_at_k(positions, test_set.labels.numpy(), train_set.labels.numpy(), 100)
        rows.append({"section": "search", "system": name, "metric": "mAP@100", "value": value,
                     "seconds": time.perf_counter() - start})  # fmt: skip


def dedup(enc: Encoders, test_set, rows: list, seed: int) -> None:
    """Each system at its own best (threshold, ratio) on the training split
    (benchmarks/dedup_calibration.calibrate, seed + 1), then scored once on the test split."""
    from benchmarks.dedup_calibration import calibrate

    chosen = best_settings(calibrate(enc, seed + 1))
    images, truth = planted_set(test_set.images, seed)
    for name, embed in enc.systems().items():
        best = chosen[name]
        ratio = None if best["ratio"] >= 1.0 else best["ratio"]
        result = dedup_score(embed(images), truth, best["threshold"], ratio)
        for metric in ("precision", "recall", "f1"):
            rows.append({"section": "dedup (images)", "system": name, "metric": metric,
                         "value": result[metric], "threshold": best["threshold"],
                         "ratio": best["ratio"], "chosen_on": "training split",
                         "validation_f1": best["f1"],
                         "found_pairs": result["found_pairs"],
                         "true_pairs": result["true_pairs"]})  # fmt: skip


def _tfidf_neighbours(texts: list[str], k: int = 10) -> np.ndarray:
    """(N, k) nearest texts by TF-IDF cosine (sparse products, 1,000 rows at a time)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    out = []
    for start in range(0, x.shape[0], 1000):
        sims = (x[start : start + 1000] @ x.T).toarray()
        sims[np.arange(sims.shape[0]), start + np.arange(sims.shape[0])] = -1.0
        out.append(np.argsort(-sims, axis=1)[:, :k])
    return np.concatenate(out)


def text_dedup(rows: list, items: int, seed: int) -> None:
    """Truth: pairs whose word sets (lower-cased, letters only) have Jaccard >= 0.8, among
    every pair that TF-IDF or MiniLM puts in each other's 10 nearest neighbours."""
    import re

    from contrastkit.data.debian import load_debian_descriptions
    from contrastkit.encoders.text import TextEncoder, minilm_path

    packages = load_debian_descriptions()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(packages), size=min(items, len(packages)), replace=False)
    texts = [packages[i].description for i in pick]
    words = [frozenset(re.findall(r"[a-z]+", t.lower())) for t in texts]
    encoder = TextEncoder.from_pretrained(minilm_path())
    start = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=64).numpy()
    seconds = time.perf_counter() - start
    index = EmbeddingIndex(vectors, [str(i) for i in range(len(texts))], "bench")
    candidates = np.concatenate([
        np.stack([np.repeat(np.arange(len(texts)), 10), nb.ravel()], 1)
        for nb in (_tfidf_neighbours(texts), index.neighbours(10)[1])
    ])  # fmt: skip
    candidates = np.unique(np.sort(candidates, axis=1), axis=0)
    jaccard = np.array(
        [len(words[a] & words[b]) / max(1, len(words[a] | words[b])) for a, b in candidates]
    )
    truth = candidates[jaccard >= 0.8]
    found = find_duplicates(index)
    score = pair_precision_recall(group_pairs(found.group), truth, len(texts))
    for metric in ("precision", "recall"):
        rows.append({"section": "dedup (Debian texts)", "system": "MiniLM-L6 pretrained",
                     "metric": metric, "value": score[metric], "items": len(texts),
                     "true_pairs": score["true_pairs"], "found_pairs": score["found_pairs"],
                     "embed_texts_per_s": len(texts) / seconds})  # fmt: skip


def anomaly(enc: Encoders, train_set, test_set, rows: list, budget: float) -> None:
    from sklearn.metrics import roc_auc_score

    y_train, y_test = train_set.labels.numpy(), test_set.labels.numpy()
    baselines = {  # fixed encoders: embed once, take the normal rows per hold-out
        name: (fn(train_set.images), fn(test_set.images))
        for name, fn in enc.systems().items()
        if name != enc.label
    }
    per_system: dict[str, list[float]] = {}
    for c in range(10):
        normal = y_train != c
        run_dir = ROOT / "runs" / "bench-applications" / f"without-{c}"
        cfg = _recipe(budget, run_dir, **{"data.exclude_classes": [c]})
        _, run_dir = train(cfg, run_dir=run_dir, progress=False)
        trained = load_run_model(run_dir)[3]
        features = dict(baselines)
        features["SimCLR trained without the class"] = (
            embed_images(trained, train_set.images[torch.from_numpy(normal)], enc.cfg).numpy(),
            embed_images(trained, test_set.images, enc.cfg).numpy(),
        )
        for name, (bank, test) in features.items():
            bank = bank if len(bank) == normal.sum() else bank[normal]
            index = EmbeddingIndex(bank, [str(i) for i in range(len(bank))], "bench")
            auroc = roc_auc_score(y_test == c, anomaly_scores(index, test, k=10))
            per_system.setdefault(name, []).append(float(auroc))
            print(f"anomaly class {c} {name}: AUROC {auroc:.3f}", flush=True)
    for name, values in per_system.items():
        rows.append({"section": "anomaly", "system": name, "metric": "AUROC (mean of 10)",
                     "value": float(np.mean(values)), "per_class": values,
                     "budget_seconds": budget})  # fmt: skip


def cluster(enc: Encoders, test_set, rows: list) -> None:
    for name, fn in enc.systems().items():
        result = kmeans(normalize(fn(test_set.images)), 10, seed=0)
        for metric, value in clustering_scores(test_set.labels.numpy(), result.assignment).items():
            rows.append(
                {"section": "cluster", "system": name, "metric": metric.upper(), "value": value}
            )


def recommend(rows: list) -> None:
    run_dir = ROOT / "runs" / "bench-applications" / "movielens"
    cfg = load_config(
        None, {"data.dataset": "movielens", "train.epochs": 20, "train.run_dir": str(run_dir)}
    )
    result, run_dir = train(cfg, progress=False)
    seconds = result.train_seconds  # the training loop, without reading the data
    trained = f"contrastkit {cfg.method.name}"
    for r in evaluate(run_dir):
        row = {
            "section": "recommend (MovieLens)",
            "system": r["system"],
            "metric": r["metric"],
            "value": r["value"],
        }
        if r["system"] == trained:
            row["train_seconds"] = seconds
        rows.append(row)


def index_speed(rows: list, n: int, seed: int) -> None:
    from contrastkit.index import VectorEngine

    rng = np.random.default_rng(seed)
    vectors = normalize(rng.standard_normal((n, 128), dtype=np.float32))
    queries = normalize(rng.standard_normal((1000, 128), dtype=np.float32))
    exact = None
    settings = [
        ("flat (FAISS)", dict(kind="flat")),
        ("flat (torch, no FAISS)", dict(kind="flat", use_faiss=False)),
        ("ivf nlist 4096 nprobe 16", dict(kind="ivf", nlist=4096, nprobe=16)),
        ("ivf nlist 4096 nprobe 64", dict(kind="ivf", nlist=4096, nprobe=64)),
        ("hnsw M 32 efSearch 64", dict(kind="hnsw", m=32, ef_search=64)),
        ("hnsw M 32 efSearch 256", dict(kind="hnsw", m=32, ef_search=256)),
    ]
    built: dict[str, tuple[VectorEngine, float]] = {}
    for name, options in settings:
        key = (options["kind"], options.get("nlist"), options.get("m"), options.get("use_faiss"))
        start = time.perf_counter()
        if key in built:
            engine, build_s = built[key]
            if "nprobe" in options:
                engine._index.nprobe = options["nprobe"]
            if "ef_search" in options:
                engine._index.hnsw.efSearch = options["ef_search"]
        else:
            engine = VectorEngine(vectors, **options)
            build_s = time.perf_counter() - start
            built[key] = (engine, build_s)
        start = time.perf_counter()
        _, positions = engine.search(queries, 10)
        qps = len(queries) / (time.perf_counter() - start)
        if exact is None:
            exact = positions
        recall = float((positions[:, :, None] == exact[:, None, :]).any(2).mean())
        for metric, value in (("queries/s", qps), ("recall@10", recall), ("build s", build_s)):
            rows.append(
                {
                    "section": f"index ({n:,} x 128)",
                    "system": name,
                    "metric": metric,
                    "value": value,
                }
            )
        print(f"{name}: {qps:.0f} q/s, recall@10 {recall:.3f}, build {build_s:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained Fashion-MNIST run folder to use")
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds if no --run")
    parser.add_argument("--anomaly-budget", type=float, default=60.0, help="seconds per hold-out")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--text-items", type=int, default=10000)
    parser.add_argument("--index-size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="applications")
    args = parser.parse_args()
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    rows: list[dict] = []

    def done(section: str) -> None:
        print_table(
            [r for r in rows if r["section"].startswith(section)],
            ["section", "system", "metric", "value"],
        )
        write_results(args.output, rows, complete=False)

    needs_images = {"search", "dedup", "anomaly", "cluster"} & set(sections)
    if needs_images:
        enc = Encoders(args)
        train_set, test_set = evaluation_split(enc.data)
    if "search" in sections:
        search(enc, train_set, test_set, rows)
        done("search")
    if "dedup" in sections:
        dedup(enc, test_set, rows, args.seed)
        done("dedup")
    if "cluster" in sections:
        cluster(enc, test_set, rows)
        done("cluster")
    if "recommend" in sections:
        recommend(rows)
        done("recommend")
    if "textdedup" in sections:
        text_dedup(rows, args.text_items, args.seed)
        done("dedup (Debian")
    if "anomaly" in sections:
        anomaly(enc, train_set, test_set, rows, args.anomaly_budget)
        done("anomaly")
    if "index" in sections:
        index_speed(rows, args.index_size, args.seed)
        done("index")
    print()
    print_table(rows, ["section", "system", "metric", "value"])
    print(f"written {write_results(args.output, rows, complete=True)}")


if __name__ == "__main__":
    main()
