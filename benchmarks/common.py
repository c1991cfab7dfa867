"""Shared helpers for benchmark scripts: machine description, the machine's load during
the run, and the results JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"
SOURCE = Path(__file__).resolve().parents[1]  # the checkout these benchmarks belong to


def run_cli(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`contrastkit ARGS` in a subprocess of this interpreter that runs this checkout's
    package (`SOURCE` first on sys.path, before the working folder, and on PYTHONPATH for
    the processes it starts): a benchmark started in a frozen worktree measures that
    worktree's code, not the folder an editable install points at. `kwargs` go to
    `subprocess.run` (text mode; an `env` is merged into the environment)."""
    env = {**os.environ, **kwargs.pop("env", {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), env.get("PYTHONPATH")]))
    launch = (
        f"import sys; sys.path.insert(0, {str(SOURCE)!r}); sys.argv[0] = 'contrastkit'; "
        "from contrastkit.cli import main; main()"
    )
    return subprocess.run([sys.executable, "-c", launch, *args], text=True, env=env, **kwargs)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from contrastkit.train.precision import cpu_has_fast_bf16

    bf16 = "native bf16" if cpu_has_fast_bf16() else "no native bf16 (auto precision: fp32)"
    return (
        f"{cpu}, {os.cpu_count()} cores, {bf16}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, Python {platform.python_version()}"
    )


def mean_std(groups: dict[Any, list[float]]) -> dict[Any, dict[str, float]]:
    """Per group key: {"value": mean, "std": sample std (0.0 for one value), "n": count}."""
    return {
        key: {
            "value": statistics.mean(v),
            "std": statistics.stdev(v) if len(v) > 1 else 0.0,
            "n": len(v),
        }
        for key, v in groups.items()
    }


COMPETING_SHARE = 0.10  # other processes' share of all cores above which a run is marked


def _busy_seconds() -> float | None:
    """CPU seconds every process on the machine has spent since boot (/proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds of this process and of its finished (waited-for) children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load_snapshot() -> tuple:
    """(monotonic time, machine busy seconds, own CPU seconds, load averages) now."""
    return time.monotonic(), _busy_seconds(), _own_seconds(), os.getloadavg()


_START = load_snapshot()


def machine_load(start: tuple | None = None) -> dict[str, Any]:
    """The load during this run, from the script's start (import of this module) to now:
    CPU seconds spent by *other* processes (machine total from /proc/stat minus this process
    and its finished children) as a share of all cores' time, and the 1/5/15-minute load
    averages at start and now. `competing_load` is True when others used more than
    COMPETING_SHARE of the machine: such a run is recorded but not cited."""
    start = start or _START
    wall = time.monotonic() - start[0]
    busy = _busy_seconds()
    out: dict[str, Any] = {
        "wall_seconds": round(wall, 1),
        "loadavg_start": [round(x, 2) for x in start[3]],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }
    if busy is not None and start[1] is not None and wall > 0:
        others = max(0.0, (busy - start[1]) - (_own_seconds() - start[2]))
        share = others / (wall * (os.cpu_count() or 1))
        out.update(other_cpu_share=round(share, 3), competing_load=share > COMPETING_SHARE)
    return out


def previous_results(name: str) -> dict[str, Any] | None:
    """benchmarks/results/NAME.json as a dict, or None when there is none (for `--resume`:
    a benchmark spread over several invocations keeps the rows of the earlier ones)."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def commands_so_far(previous: dict[str, Any] | None) -> list[str]:
    """Every command that wrote into a resumed results file, this one last."""
    if previous is None:
        return [command()]
    return [*previous.get("commands", [previous["command"]]), command()]


def command() -> str:
    return "python " + " ".join(shlex.quote(a) for a in sys.argv)


def write_results(name: str, rows: list[dict[str, Any]], **extra: Any) -> Path:
    """Write benchmarks/results/NAME.json: command, date, machine, load (`machine_load`),
    rows (+ extra keys); a warning is printed when other processes competed for the CPU."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": command(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load": machine_load(),
        "rows": rows,
        **extra,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    if payload["load"].get("competing_load"):
        share = payload["load"]["other_cpu_share"]
        print(
            f"warning: other processes used {share:.0%} of the CPU during this run; "
            "it is marked competing_load in the JSON and is not for citing"
        )
    return path


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print `rows` as an aligned text table of `columns` (a header alone when empty)."""
    widths = [max([len(c), *(len(_cell(r.get(c))) for r in rows)]) for c in columns]
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(_cell(r.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return "" if value is None else str(value)
