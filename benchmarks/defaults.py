"""Defaults on data nobody tuned for: `contrastkit train --dataset FOLDER` with no other
flag than the budget and the seed, on labelled image sets that no recipe, default or
threshold of contrastkit was chosen on, scored by the run's own evaluation.

Sets (`contrastkit.data.eval_sets`, installed by scripts/setup.sh): font-letters (26
capitals in 457 display fonts, 28x28 grey, split by font family), tux-stamps (Tux Paint
stamps, 32x32 colour, 10 categories), twemoji (Twemoji, 32x32 colour, 9 categories),
mate-icons (MATE icon theme, 32x32 colour, 6 contexts). Each is written once as the
folder a user brings, FOLDER/train/<class>/*.png and FOLDER/test/<class>/*.png, so the
test split is fixed (unseen fonts, stamps, emoji, icons) and the same for every seed.

Per set and seed S (0..N-1), as a user runs it:
    contrastkit train --dataset FOLDER --max-time BUDGET --seed S -o RUN
which trains, then evaluates exactly as `contrastkit evaluate RUN` does (same function;
RUN/eval.json: weighted kNN and linear probe of the trained encoder, raw pixels and the
run's random-init encoder, on FOLDER/test with FOLDER/train as bank and probe training
set; the run's own settings, e.g. k, are in eval.json's "settings"). `contrastkit evaluate
RUN` is called only when train left no eval.json. With `--tune`, each seed first runs
    contrastkit tune-views FOLDER --budget TUNE --seed S -o TUNE_DIR
(TUNE = `--tune-share` of BUDGET), then trains from its best.yaml for what is left of
BUDGET (`--max-time BUDGET - search wall time`): the same total budget. On font-letters the
search gets `--group` with the font in the file name (`TUNE_GROUPS`), as a user who knows
that the test fonts are unseen would pass it: validation letters are then in fonts the proxy
runs did not train on (before 2026-12-03 the split was per image).

Rows: one per (dataset, variant, seed, system, metric), then the mean and sample std over
the seeds; a verdict per set: the trained encoder beats a baseline when the gap of the
means exceeds the sum of the stds. The 1-minute load average is recorded before and after
every run, and the CPU share other processes took during it (`benchmarks.common.
machine_load`: machine CPU time from /proc/stat minus this script and its commands); a run
in which others took over 10% is marked `competing_load` (do not cite it). The load average
alone cannot say this: right after one run the 1-minute average still counts that run.
Results: benchmarks/results/<output>.json.

Usage:
    python -m benchmarks.defaults [--budget 5m] [--seeds 3] [--sets font-letters,twemoji]
        [--tune] [--tune-share 0.5] [--variants default,tuned] [--root runs/bench-defaults]
        [--output defaults] [--resume]

`--resume` keeps what an earlier invocation wrote to results/<output>.json and runs only
the (set, variant, seed) it lacks; the file lists every command that wrote into it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    commands_so_far,
    load_snapshot,
    machine_load,
    mean_std,
    previous_results,
    print_table,
    run_cli,
    write_results,
)
from contrastkit.config import parse_duration
from contrastkit.data.eval_sets import EVAL_SETS, export_image_folder

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ("raw pixels", "random-init encoder")
# tune-views --group per set: font-letters' files are NNNNN-<font>-<letter>.png
TUNE_GROUPS = {"font-letters": r"\d+-(\w+)-"}


def _call(cmd: list[str], log: Path) -> None:
    """Run a contrastkit command, its output to `log`; a failure raises with its last lines."""
    with log.open("w") as out:
        done = run_cli(cmd, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text().strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd)} failed: {' / '.join(tail)}")


def _beside(run: Path, suffix: str) -> Path:
    """RUN + suffix next to RUN (not `with_suffix`: a run named "stroke0.5-seed0" keeps its
    whole name)."""
    return run.parent / f"{run.name}{suffix}"


def has_tune_views() -> bool:
    """Whether this installation's contrastkit has the `tune-views` command."""
    done = run_cli(["tune-views", "--help"], capture_output=True)
    return done.returncode == 0


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def run_one(
    folder: Path,
    runs: Path,
    variant: str,
    seed: int,
    budget: float,
    tune_share: float,
    extra: list[str] | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """Train (after tune-views for variant "tuned", with `--group group` if given) one seed
    on `folder`, with `extra` train flags (e.g. --set k=v) if given; the eval.json rows and
    the run's timings. The commands' output goes to RUN.log beside each folder."""
    run = runs / f"{variant}-seed{seed}"
    shutil.rmtree(run, ignore_errors=True)
    runs.mkdir(parents=True, exist_ok=True)
    snapshot = load_snapshot()
    info: dict[str, Any] = {"load_before": _load()}
    start = time.perf_counter()
    train = ["train", "--dataset", str(folder)]
    if variant == "tuned":
        tuned = runs / f"tune-seed{seed}"
        shutil.rmtree(tuned, ignore_errors=True)
        _call(["tune-views", str(folder), "--budget", f"{budget * tune_share:.0f}s",
               "--seed", str(seed), "-o", str(tuned), *(["--group", group] if group else [])],
              _beside(tuned, ".log"))  # fmt: skip
        info["tune_seconds"] = round(time.perf_counter() - start, 1)
        left = budget - info["tune_seconds"]
        if left < 10:
            raise RuntimeError(f"tune-views took {info['tune_seconds']} s of a {budget} s budget")
        train += ["--config", str(tuned / "best.yaml")]
    else:
        left = budget
    train += ["--max-time", f"{left:.0f}s", "--seed", str(seed), "-o", str(run), *(extra or [])]
    _call(train, _beside(run, ".log"))
    if not (run / "eval.json").is_file():
        _call(["evaluate", str(run)], _beside(run, ".evaluate.log"))
    summary = json.loads((run / "summary.json").read_text())
    evaluation = json.loads((run / "eval.json").read_text())
    info.update(
        wall_seconds=round(time.perf_counter() - start, 1),
        load_after=_load(),
        load=machine_load(snapshot),
        steps=summary.get("steps"),
        epochs=summary.get("epochs"),
        train_seconds=summary.get("train_seconds"),
        settings=evaluation.get("settings", {}),
        rows=evaluation["rows"],
        run=str(run),
    )
    return info


def _system(name: str) -> str:
    """The row's system: "contrastkit simclr" -> "trained encoder (simclr)", baselines kept."""
    return f"trained encoder ({name.split(' ', 1)[1]})" if name.startswith("contrastkit ") else name


def record_run(
    rows: list[dict], runs: list[dict], name: str, variant: str, seed: int, info: dict[str, Any]
) -> list[dict[str, Any]]:
    """Append one run's score rows (returned) to `rows` and its record (timings, load) to
    `runs`; `info` is `run_one`'s answer, its "rows" taken out."""
    found = [
        {
            "system": _system(r["system"]),
            "metric": r["metric"],
            "value": r["value"],
            "dataset": name,
            "variant": variant,
            "seed": seed,
        }
        for r in info.pop("rows")
    ]
    rows.extend(found)
    competing = bool(info["load"].get("competing_load"))
    runs.append({"dataset": name, "variant": variant, "seed": seed,
                 "competing_load": competing, **info})  # fmt: skip
    return found


def summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample std over seeds per (dataset, variant, system, metric)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        if isinstance(r["value"], int | float):
            key = (r["dataset"], r["variant"], r["system"], r["metric"])
            groups.setdefault(key, []).append(float(r["value"]))
    return [
        {"dataset": d, "variant": v, "system": s, "metric": m, "seed": None, **stats}
        for (d, v, s, m), stats in mean_std(groups).items()
    ]


def resumed(previous: dict[str, Any] | None) -> tuple[list[dict], list[dict]]:
    """The per-seed rows and the runs of an earlier results file (its means are recomputed
    over all seeds at the end), or two empty lists."""
    if previous is None:
        return [], []
    return [r for r in previous["rows"] if r.get("seed") is not None], list(previous["runs"])


def verdicts(means: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dataset, variant and metric: the trained encoder against each baseline (no
    verdict, None, from fewer than 2 seeds)."""
    out = []
    by = {(r["dataset"], r["variant"], r["system"], r["metric"]): r for r in means}
    for (dataset, variant, system, metric), r in by.items():
        if not system.startswith("trained encoder"):
            continue
        line = {"dataset": dataset, "variant": variant, "metric": metric,
                "trained": f"{r['value']:.3f} ± {r['std']:.3f}"}  # fmt: skip
        for base in BASELINES:
            b = by.get((dataset, variant, base, metric))
            if b is not None:
                gap = r["value"] - b["value"]
                line[base] = f"{b['value']:.3f} ± {b['std']:.3f}"
                enough = min(r["n"], b["n"]) >= 2
                line[f"beats {base}"] = gap > r["std"] + b["std"] if enough else None
        out.append(line)
    return out


def budget_and_sets(
    parser: argparse.ArgumentParser, budget: str, sets: str, known: Any
) -> tuple[float, list[str]]:
    """--budget in seconds and --sets as names, each one of `known`; else a parser error."""
    try:
        seconds = parse_duration(budget)
    except ValueError as exc:
        parser.error(f"--budget {exc}")
    names = [s.strip() for s in sets.split(",") if s.strip()]
    unknown = [s for s in names if s not in known]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return seconds, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="5m", help="total wall-clock budget per run: 300, 5m")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per set")
    parser.add_argument("--sets", default=",".join(EVAL_SETS), help="comma-separated set names")
    parser.add_argument(
        "--tune", action="store_true", help="also run tune-views first, within the same budget"
    )
    parser.add_argument(
        "--tune-share", type=float, default=0.5, help="share of --budget given to tune-views"
    )
    parser.add_argument(
        "--variants", default=None,
        help="comma-separated subset of default,tuned (default: default, and tuned with --tune)",
    )  # fmt: skip
    parser.add_argument("--root", default=str(ROOT / "runs" / "bench-defaults"))
    parser.add_argument("--output", default="defaults", help="results/<output>.json")
    parser.add_argument(
        "--resume", action="store_true",
        help="keep the per-seed rows and runs already in results/<output>.json and run only "
        "the (set, variant, seed) it lacks",
    )  # fmt: skip
    args = parser.parse_args()
    budget, sets = budget_and_sets(parser, args.budget, args.sets, EVAL_SETS)
    if not 0 < args.tune_share < 1:
        parser.error(f"--tune-share must be between 0 and 1, got {args.tune_share}")
    variants = ["default", "tuned"] if args.tune else ["default"]
    if args.variants:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        if not set(variants) <= {"default", "tuned"}:
            parser.error(f"--variants takes default and/or tuned, got {args.variants}")
    if "tuned" in variants and not has_tune_views():
        parser.error(
            "--tune needs `contrastkit tune-views`, which this installation does not have "
            "; run without --tune"
        )
    root = Path(args.root)
    load_before = os.getloadavg()
    previous = previous_results(args.output) if args.resume else None
    rows, runs = resumed(previous)
    done = {(r["dataset"], r["variant"], r["seed"]) for r in runs}
    failures: list[dict[str, Any]] = []

    def save(complete: bool) -> Path:
        means = summaries(rows)
        return write_results(
            args.output, rows + means, verdicts=verdicts(means), runs=runs, failures=failures,
            budget_seconds=budget, seeds=list(range(args.seeds)), sets=sets, variants=variants,
            tune_share=args.tune_share if args.tune else None, complete=complete,
            load_average={"before": load_before, "after": os.getloadavg()},
            competing_load=any(r["competing_load"] for r in runs),
            commands=commands_so_far(previous),
        )  # fmt: skip

    for name in sets:
        folder = root / "data" / name
        counts = export_image_folder(name, folder)
        print(f"{name}: {folder} ({counts['train']} train, {counts['test']} test)", flush=True)
        for variant in variants:
            for seed in range(args.seeds):
                if (name, variant, seed) in done:
                    print(f"{name} {variant} seed {seed}: in {args.output}.json already")
                    continue
                try:
                    info = run_one(folder, root / "runs" / name, variant, seed, budget,
                                   args.tune_share, group=TUNE_GROUPS.get(name))  # fmt: skip
                except RuntimeError as exc:
                    print(f"{name} {variant} seed {seed}: {exc}", flush=True)
                    failures.append({"dataset": name, "variant": variant, "seed": seed,
                                     "error": str(exc)})  # fmt: skip
                    continue
                found = record_run(rows, runs, name, variant, seed, info)
                competing = runs[-1]["competing_load"]
                print_table(found, ["dataset", "variant", "seed", "system", "metric", "value"])
                print(f"  {info['steps']} steps in {info['train_seconds']:.0f} s, wall "
                      f"{info['wall_seconds']:.0f} s, others' CPU share "
                      f"{info['load'].get('other_cpu_share', '?')}"
                      f"{' (COMPETING LOAD)' if competing else ''}",
                      flush=True)  # fmt: skip
                save(complete=False)  # a benchmark cut short keeps its finished runs

    means = summaries(rows)
    print()
    print_table(means, ["dataset", "variant", "system", "metric", "value", "std", "n"])
    print()
    table = verdicts(means)
    if table:
        print_table(table, list(dict.fromkeys(k for line in table for k in line)))
    for f in failures:
        print(f"FAILED {f['dataset']} {f['variant']} seed {f['seed']}: {f['error']}")
    print(f"written {save(complete=True)}")


if __name__ == "__main__":
    main()
