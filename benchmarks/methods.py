"""Every method on Fashion-MNIST with the same backbone and wall-clock budget, one table.

Each method trains from its packaged recipe <method>_fashion_mnist (all extend
fashion_mnist: same CompactCNN backbone, views, batch size and precision) on
the 60,000 training images for `--budget` seconds, then is scored on the 10,000 test
images: weighted kNN (k=200, t=0.1; the training set as bank), linear probe, effective
rank of the test features, training items/s and whether the collapse monitor fired.
Raw pixels and the randomly initialised encoder are the baselines (one per encoder:
a ViT row gets a random-init ViT beside it, with the same seeds). SupCon uses the
labels (marked); every other method sees images only. A name that is not a method names
the packaged recipe fashion_mnist_<name> (e.g. `vit_tiny`: SimCLR with a ViT-Tiny).
`--seeds N` trains every row with seeds 0..N-1 (rows per seed, then mean and sample std);
the machine's load average is recorded before and after, and each row records the CPU share
other processes took while it trained and was scored (`other_cpu_share`; over 10%:
`competing_load`, not for citing).

`--validation` is for choosing recipes: 10,000 of the 60,000 training images (a fixed
random draw) become the validation queries, training and the kNN bank / probe use the other
50,000, and the test split is not read. `--resume` keeps the rows already in
results/<output>.json and trains only the (method, seed) rows it lacks, so a long table can
be measured over several invocations (the file lists every command that wrote into it).
`--baselines-from NAME` copies the raw-pixel and random-init rows of results/NAME.json
(scored on the same split; each copy marked `copied_from`, the file `baselines_from`)
instead of measuring them again, e.g. to add a method to a finished table.

Usage:
    python -m benchmarks.methods [--budget 120] [--methods simclr,byol,vit_tiny]
        [--seeds 1] [--output methods] [--set optim.lr=0.1 ...] [--no-baselines]
        [--validation] [--resume] [--baselines-from NAME]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from benchmarks.common import (
    commands_so_far,
    load_snapshot,
    machine_load,
    mean_std,
    previous_results,
    write_results,
)
from contrastkit.config import Config, parse_override
from contrastkit.data.dataset import ImageDataset
from contrastkit.data.splits import held_out
from contrastkit.errors import ContrastkitError
from contrastkit.evaluate.features import raw_features
from contrastkit.evaluate.geometry import effective_rank
from contrastkit.evaluate.report import EvalRow, evaluate_features, format_table, rows_to_records
from contrastkit.methods import METHODS
from contrastkit.modalities.image import (
    ImageData,
    ImageModality,
    embed_images,
    evaluation_split,
)
from contrastkit.pipeline.evaluate_run import load_run_model
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train
from contrastkit.recipes import RECIPE_DIR

ROOT = Path(__file__).resolve().parent.parent
# the methods that train one image encoder (METHODS also holds two-tower CLIP and SigLIP,
# and CoSENT / AnglE for scored text pairs)
IMAGE_METHODS = [n for n, c in METHODS.items() if ImageModality().trains(c)]


def _recipe_path(name: str) -> Path:
    """The packaged recipe <method>_fashion_mnist.yaml, or fashion_mnist_<name>.yaml."""
    path = RECIPE_DIR / f"{name}_fashion_mnist.yaml"
    return path if name in METHODS else RECIPE_DIR / f"fashion_mnist_{name}.yaml"


def _recipe(name: str, budget: float, run_dir: Path, extra: dict | None = None):
    cfg = load_config(
        _recipe_path(name),
        {
            "train.max_time": budget,
            "train.monitor_every": 0,
            "data.holdout": 0,
            "train.run_dir": str(run_dir),
            **(extra or {}),
        },
    )
    cfg.train.epochs = cfg.train.steps = None
    return cfg


VALIDATION_SIZE, VALIDATION_SEED = 10_000, 20261202


def validation_split(data: ImageData) -> tuple[ImageData, ImageDataset, ImageDataset]:
    """(data to train on, bank / probe set, validation queries), all from the training
    images: 10,000 of them (a fixed draw) are the queries, the rest the other two."""
    pool = data.pool
    generator = torch.Generator().manual_seed(VALIDATION_SEED)
    val, keep = held_out(len(pool), VALIDATION_SIZE, generator)
    train = pool.subset(keep.sort().values)
    name = f"{train.name}: {len(train):,} train images (validation: {len(val):,})"
    return (
        ImageData(name, train.labels, list(train.skipped), train, None, None, train),
        train,
        pool.subset(val),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds each")
    parser.add_argument("--methods", default=",".join(IMAGE_METHODS), help="comma-separated names")
    parser.add_argument("--output", default="methods", help="results/<output>.json")
    parser.add_argument("--run-root", default=str(ROOT / "runs" / "bench-methods"))
    parser.add_argument(
        "--set", action="append", default=[], help="config override for every method: KEY=VALUE"
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip raw/random rows")
    parser.add_argument("--seeds", type=int, default=1, help="train each row with seeds 0..N-1")
    parser.add_argument(
        "--validation", action="store_true",
        help="score on 10,000 held-out training images instead of the test split",
    )  # fmt: skip
    parser.add_argument(
        "--resume", action="store_true",
        help="keep the rows in results/<output>.json, train only the missing ones (a run "
        "folder a missing row left, e.g. from a stopped invocation, is trained again)",
    )  # fmt: skip
    parser.add_argument(
        "--baselines-from", metavar="NAME",
        help="copy the raw-pixel and random-init rows of results/NAME.json (same split) "
        "instead of measuring them; rows it lacks (other seeds, encoders) are measured",
    )  # fmt: skip
    args = parser.parse_args()
    extra = dict(parse_override(text) for text in args.set)
    names = [n.strip() for n in args.methods.split(",") if n.strip()]
    missing = [n for n in names if not _recipe_path(n).is_file()]
    if missing:
        parser.error(f"no recipe for {', '.join(missing)} (methods: {', '.join(IMAGE_METHODS)})")
    seeds = list(range(args.seeds))
    load_before = os.getloadavg()

    # the baselines share the overrides' backbone/data keys (method keys belong to one method)
    shared = {k: v for k, v in extra.items() if not k.startswith("method.")}
    base = _recipe("simclr", args.budget, Path(args.run_root) / "base", shared)
    modality = ImageModality()
    data = modality.prepare(base, None)  # data.holdout is 0: data.train is the whole split
    if args.validation:
        data, train_set, test_set = validation_split(data)
    else:
        train_set, test_set = evaluation_split(data)
    base = modality.resolve(base, data)
    previous = previous_results(args.output) if args.resume else None
    kept = [r for r in (previous or {}).get("rows", []) if not r["system"].endswith("(mean)")]
    kept = [r for r in kept if r["metric"] != "failed"]  # a failed row is tried again
    split = "validation" if args.validation else "test"
    baselines_from = args.baselines_from or (previous or {}).get("baselines_from")
    if args.baselines_from:
        source = previous_results(args.baselines_from)
        if source is None:
            parser.error(f"--baselines-from: no results file {args.baselines_from}.json")
        have = {r["system"] for r in kept}
        try:
            copied = copied_baselines(source, args.baselines_from, split, seeds, args.set)
        except ValueError as exc:
            parser.error(str(exc))
        kept += [r for r in copied if r["system"] not in have]
    done = {r["system"] for r in kept}
    rows: list[EvalRow] = []
    failures: dict[str, str] = {}

    def score(name: str, encoder, cfg, extra: dict, snapshot: tuple) -> None:
        start = time.perf_counter()
        if encoder is None:
            f_train, f_test = raw_features(train_set.images), raw_features(test_set.images)
        else:
            f_train = embed_images(encoder, train_set.images, cfg)
            f_test = embed_images(encoder, test_set.images, cfg)
        row = evaluate_features(
            name,
            f_train,
            train_set.labels,
            f_test,
            test_set.labels,
            k=cfg.eval.knn_k,
            temperature=cfg.eval.knn_temperature,
        )
        row.extra.update(extra, effective_rank=effective_rank(f_test))
        row.extra["eval_seconds"] = time.perf_counter() - start
        load = machine_load(snapshot)
        row.extra["other_cpu_share"] = load.get("other_cpu_share", float("nan"))
        row.extra["competing_load"] = bool(load.get("competing_load"))
        rows.append(row)
        print(format_table([row]), flush=True)
        save(complete=False)  # a run cut short still leaves its finished rows

    def save(complete: bool) -> Path:
        records = (
            kept
            + rows_to_records(rows)
            + [
                {"system": label, "metric": "failed", "value": 1, "error": reason}
                for label, reason in failures.items()
            ]
        )
        return write_results(
            args.output, records + summaries(records), budget_seconds=args.budget,
            overrides=args.set, seeds=seeds, complete=complete,
            load_average={"before": load_before, "after": os.getloadavg()},
            split=split, commands=commands_so_far(previous),
            **({"baselines_from": baselines_from} if baselines_from else {}),
        )  # fmt: skip

    def tag(label: str, seed: int) -> str:
        return label if len(seeds) == 1 else f"{label} (seed {seed})"

    if not args.no_baselines:
        if "raw pixels" not in done:
            score("raw pixels", None, base, {}, load_snapshot())
        recipes = {n: _recipe(n, args.budget, Path(args.run_root), shared) for n in names}
        for label, cfg in random_init_baselines(base, recipes):
            cfg = modality.resolve(cfg, data)
            for seed in seeds:
                if tag(label, seed) in done:
                    continue
                snapshot = load_snapshot()
                torch.manual_seed(seed)
                random_init = modality.build_encoder(cfg, data)
                score(tag(label, seed), random_init, cfg, {"seed": seed}, snapshot)

    for name, seed in [(n, s) for n in names for s in seeds]:
        run_dir = Path(args.run_root) / (name if len(seeds) == 1 else f"{name}-seed{seed}")
        cfg = _recipe(name, args.budget, run_dir, {**extra, "train.seed": seed})
        method = cfg.method.name
        label = name if name in METHODS else f"{name} ({method})"
        label = tag(label + (" (uses labels)" if METHODS[method].needs_labels else ""), seed)
        if label in done:
            print(f"{label}: in {args.output}.json already", flush=True)
            continue
        snapshot = load_snapshot()
        try:
            # with --resume, a folder left by an unscored row (a stopped run) is replaced
            result, run_dir = train(
                cfg, run_dir=cfg.train.run_dir, progress=False,
                data=data if args.validation else None, overwrite=args.resume,
            )  # fmt: skip
        except ContrastkitError as exc:  # e.g. a diverging recipe: report it, go on
            print(f"{label}: training failed: {exc}", flush=True)
            failures[label] = str(exc)
            continue
        run_cfg, _, _, trained = load_run_model(run_dir)  # resolved: the run's normalisation
        score(
            label,
            trained,
            run_cfg,
            {
                "items_per_s": result.items_per_second,
                "epochs": result.epochs,
                "steps": result.steps,
                "train_seconds": result.train_seconds,
                "collapsed": result.collapsed_at_step is not None,
                "seed": seed,
            },
            snapshot,
        )

    print()
    print(format_table(rows))
    print()
    print(f"{'system':28s} {'eff. rank':>9s} {'items/s':>8s} {'epochs':>6s} collapsed")
    for r in rows:
        e = r.extra
        print(
            f"{r.system:28s} {e['effective_rank']:9.1f} {e.get('items_per_s', float('nan')):8.0f} "
            f"{e.get('epochs', float('nan')):6.2f} {e.get('collapsed', '-')}"
        )
    for label, reason in failures.items():
        print(f"{label}: FAILED ({reason})")
    for r in summaries(kept + rows_to_records(rows)):
        print(f"{r['system']:40s} {r['metric']:10s} {r['value']:.4f} ± {r['std']:.4f} (n={r['n']})")
    print(f"written {save(complete=True)}")


def copied_baselines(
    source: dict, name: str, split: str, seeds: list[int], overrides: list[str]
) -> list[dict]:
    """The raw-pixel and random-init rows of the results `source` (the file NAME) that a run
    with `seeds` would write ("(seed N)" rows for N in seeds when there are several seeds,
    untagged rows for one), each marked `copied_from` (an earlier copy keeps its origin).

    Raises:
        ValueError: `source` was scored on another split or with other non-method
            overrides (`--set`), or has no such rows.
    """
    if source.get("split", "test") != split:
        raise ValueError(
            f"--baselines-from {name}: its rows are scored on the {source.get('split')} "
            f"split, this run on the {split} split"
        )
    shared = [o for o in overrides if not o.startswith("method.")]
    theirs = [o for o in source.get("overrides", []) if not o.startswith("method.")]
    if theirs != shared:
        raise ValueError(
            f"--baselines-from {name}: its baselines ran with --set {theirs}, this run "
            f"with {shared}"
        )

    def wanted(system: str) -> bool:
        if system == "raw pixels":
            return True
        if " (seed " not in system:
            return len(seeds) == 1
        return len(seeds) > 1 and int(system.rsplit(" (seed ", 1)[1].rstrip(")")) in seeds

    rows = [
        r
        for r in source.get("rows", [])
        if r["system"].startswith(BASELINES)
        and not r["system"].endswith("(mean)")
        and r["metric"] != "failed"
        and wanted(r["system"])
    ]
    if not rows:
        raise ValueError(f"--baselines-from {name}: no raw-pixel or random-init rows in it")
    return [{"copied_from": name, **r} for r in rows]


BASELINES = ("raw pixels", "random-init encoder")  # the baseline rows' system names start so
_HEAD_KEYS = {"proj_hidden_dim", "proj_dim", "sync_batchnorm"}  # not the encoder's


def random_init_baselines(base: Config, recipes: dict[str, Config]) -> list[tuple[str, Config]]:
    """The randomly initialised encoder of each distinct encoder in the table (the model
    section without its head sizes): the shared recipe's as "random-init encoder", any other
    as "random-init encoder (<backbone>)", or "(<backbone>, <recipe>)" when an earlier one
    has that backbone name with other settings (e.g. other widths), configured as the first
    recipe that trains it, so each trained row has its own encoder untrained beside it."""

    def encoder(cfg: Config) -> str:
        return repr(sorted(cfg.model.model_dump(exclude=_HEAD_KEYS).items()))

    baselines = {encoder(base): ("random-init encoder", base)}
    names = {base.model.backbone}
    for recipe, cfg in recipes.items():
        if encoder(cfg) in baselines:
            continue
        backbone = cfg.model.backbone
        suffix = backbone if backbone not in names else f"{backbone}, {recipe}"
        baselines[encoder(cfg)] = (f"random-init encoder ({suffix})", cfg)
        names.add(backbone)
    return list(baselines.values())


def summaries(records: list[dict]) -> list[dict]:
    """Mean and sample std over the seeds of each system with rows for several seeds."""
    groups: dict[tuple[str, str], list[float]] = {}
    for record in records:
        system = record["system"]
        if " (seed " in system and isinstance(record.get("value"), int | float):
            key = (system[: system.index(" (seed ")] + " (mean)", record["metric"])
            groups.setdefault(key, []).append(float(record["value"]))
    return [
        {"system": system, "metric": metric, **stats}
        for (system, metric), stats in mean_std(groups).items()
    ]


if __name__ == "__main__":
    main()
