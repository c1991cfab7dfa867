"""Choosing a data-aware default on validation data: `contrastkit train --dataset VALFOLDER`
with the defaults as they are and with candidate changes (`--set key=value`), where
VALFOLDER is a set's *training* split re-split 80/20, so the set's test split is never read.

The split (`validation_folder`): a salted SHA-1 of each image's group decides its side.
The group is the image itself, except for font-letters, whose test split holds fonts that
training never saw: there the group is a block of 8 consecutive fonts (the file names
number the fonts alphabetically, so a family's variants, e.g. "Ataxia" and "Ataxia
Outline", mostly share a block), and the validation letters are drawn in fonts the
validation run did not train on, as on the test split; and for mate-icons and tux-stamps,
whose validation side takes whole icon or stamp groups as their test splits do (since
2026-12-03; earlier runs of these two sets split per image).

Per set and seed, the variants run one after the other (so a drift of the machine's speed
hits them alike), each exactly as a user runs it:
    contrastkit train --dataset VALFOLDER --max-time BUDGET --seed S -o RUN [--set K=V ...]
and is scored by the run's own evaluation (kNN and linear probe of the trained encoder,
raw pixels and the random-init encoder, on VALFOLDER/test with VALFOLDER/train as the bank).

Usage:
    python -m benchmarks.defaults_validation --sets font-letters --budget 5m --seeds 2 \\
        --variant base= --variant "stroke=views.stroke_p=0.5" --output NAME [--resume]

A variant is NAME=KEY=VALUE[;KEY=VALUE...] (NAME= alone: the defaults as they are).
Results: benchmarks/results/<output>.json (rows per dataset, variant, seed, system and
metric, then mean and sample std over the seeds; every run's timings and machine load).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from benchmarks.common import commands_so_far, previous_results, print_table, write_results
from benchmarks.defaults import ROOT, record_run, resumed, run_one, summaries
from contrastkit.config import parse_duration
from contrastkit.data.eval_sets import EVAL_SETS, export_image_folder, export_stem
from contrastkit.data.mate_icons import icon_group
from contrastkit.data.tux_stamps import stamp_group

SALT = "contrastkit-defaults-validation"
SHARE = 0.2  # of the training images (groups) go to validation
FONTS_PER_BLOCK = 8
GROUPED = ("mate-icons", "tux-stamps")  # validation keeps their test split's groups


def group_of(dataset: str, file_name: str) -> str:
    """The unit a split keeps on one side: a block of fonts for font-letters (file names
    `NNNNN-font-letter.png`, NNNNN = font number * 26 + letter); for mate-icons and
    tux-stamps the group their fixed test split uses (`_icon_groups`); else the file."""
    if dataset == "font-letters":
        font = int(file_name.split("-", 1)[0]) // 26
        return f"fonts-{font // FONTS_PER_BLOCK}"
    if dataset in GROUPED:
        return _icon_groups(dataset)[Path(file_name).stem]
    return file_name


@functools.cache
def _icon_groups(dataset: str) -> dict[str, str]:
    """Exported training-file stem -> group, for the sets whose test split keeps variants
    of one icon or stamp ("folder-music", "folder-remote"; "frog", "frog-1") on one side:
    the validation side does the same, so it holds drawings training never saw, like the
    test split."""
    return export_groups(dataset, "train")


def export_groups(dataset: str, split: str) -> dict[str, str]:
    """Exported file stem of `split` -> the group the set's fixed split keeps on one side
    (mate-icons and tux-stamps only). Stems follow `export_image_folder`; groups the
    loaders' own rule."""
    if dataset not in GROUPED:
        raise ValueError(f"groups are known for {', '.join(GROUPED)}, not {dataset!r}")
    rule = icon_group if dataset == "mate-icons" else lambda p: stamp_group(p, Path())
    ids = EVAL_SETS[dataset].load(split).ids
    return {export_stem(i, item): rule(Path(item)) for i, item in enumerate(ids)}


def is_validation(dataset: str, file_name: str) -> bool:
    """Whether the image goes to the validation side (about SHARE of the groups)."""
    digest = hashlib.sha1(f"{SALT}/{group_of(dataset, file_name)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < SHARE


def link_or_copy(source: Path, target: Path) -> None:
    """`target` as a hard link to `source` (a copy across file systems), parents made."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def validation_folder(dataset: str, folder: Path, out: Path) -> dict[str, int]:
    """Write OUT/train/<class>/ and OUT/test/<class>/ from FOLDER/train only (hard links, or
    copies across file systems); FOLDER/test is not read. Returns the two sides' counts."""
    shutil.rmtree(out, ignore_errors=True)
    counts = {"train": 0, "test": 0}
    for class_dir in sorted(p for p in (folder / "train").iterdir() if p.is_dir()):
        for image in sorted(class_dir.iterdir()):
            side = "test" if is_validation(dataset, image.name) else "train"
            link_or_copy(image, out / side / class_dir.name / image.name)
            counts[side] += 1
    if min(counts.values()) == 0:
        raise RuntimeError(f"{dataset}: an empty side in the validation split {counts}")
    return counts


def parse_variant(spec: str) -> tuple[str, list[str]]:
    """ "stroke=views.stroke_p=0.5;views.flip_p=0" -> ("stroke", ["--set", "views...", ...])."""
    name, sep, rest = spec.partition("=")
    if not name or not sep:
        raise ValueError(f"a variant is NAME=KEY=VALUE[;KEY=VALUE...] or NAME=, got {spec!r}")
    if name == "tuned":
        raise ValueError("the variant name 'tuned' is taken (benchmarks.defaults' tune-views runs)")
    flags: list[str] = []
    for item in filter(None, (s.strip() for s in rest.split(";"))):
        if "=" not in item:
            raise ValueError(f"variant {name}: {item!r} is not KEY=VALUE")
        flags += ["--set", item]
    return name, flags


def comparison(means: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per (dataset, metric, system): each variant's mean ± std."""
    lines: dict[tuple, dict[str, Any]] = {}
    for r in means:
        key = (r["dataset"], r["metric"], r["system"])
        line = lines.setdefault(key, {"dataset": key[0], "metric": key[1], "system": key[2]})
        line[r["variant"]] = f"{r['value']:.3f} ± {r['std']:.3f} (n={r['n']})"
    return list(lines.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="5m", help="wall-clock budget per run")
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0..N-1 per variant")
    parser.add_argument("--sets", default="font-letters", help="comma-separated set names")
    parser.add_argument("--variant", action="append", required=True, help="NAME=K=V[;K=V]")
    parser.add_argument("--root", default=str(ROOT / "runs" / "bench-defaults-validation"))
    parser.add_argument("--output", default="defaults_validation_views")
    parser.add_argument("--resume", action="store_true", help="run only what NAME.json lacks")
    args = parser.parse_args()
    budget = parse_duration(args.budget)
    try:
        variants = dict(parse_variant(v) for v in args.variant)
    except ValueError as exc:
        parser.error(str(exc))
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in sets if s not in EVAL_SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(EVAL_SETS)}")
    root = Path(args.root)
    previous = previous_results(args.output) if args.resume else None
    rows, runs = resumed(previous)
    done = {(r["dataset"], r["variant"], r["seed"]) for r in runs}

    def save(complete: bool) -> Path:
        means = summaries(rows)
        return write_results(
            args.output, rows + means, comparison=comparison(means), runs=runs,
            variants={k: " ".join(v) for k, v in variants.items()}, budget_seconds=budget,
            split="the set's training split re-split 80/20 (test split never read)",
            competing_load=any(r["competing_load"] for r in runs), complete=complete,
            commands=commands_so_far(previous),
        )  # fmt: skip

    for name in sets:
        counts = export_image_folder(name, root / "data" / name)
        valfolder = root / "validation" / name
        split = validation_folder(name, root / "data" / name, valfolder)
        print(f"{name}: {split['train']} train / {split['test']} validation images "
              f"(of {counts['train']} training images)", flush=True)  # fmt: skip
        for seed in range(args.seeds):
            for variant, flags in variants.items():
                if (name, variant, seed) in done:
                    continue
                info = run_one(valfolder, root / "runs" / name, variant, seed, budget, 0.5, flags)
                found = record_run(rows, runs, name, variant, seed, info)
                knn = [r["value"] for r in found if r["metric"] == "knn_top1"]
                print(f"{name} {variant} seed {seed}: kNN {knn}, {info['steps']} steps, "
                      f"others' CPU share {info['load'].get('other_cpu_share', '?')}",
                      flush=True)  # fmt: skip
                save(complete=False)
    table = comparison(summaries(rows))
    print_table(table, list(dict.fromkeys(k for line in table for k in line)))
    print(f"written {save(complete=True)}")


if __name__ == "__main__":
    main()
