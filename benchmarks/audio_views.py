"""Clips/s of contrastkit's audio views (two views per clip: waveform augmentations, log-mel,
time and frequency masks), against the same views at an earlier commit.

Data (real): the one-second, 16 kHz instrument notes (`contrastkit.data.instrument_notes`,
rendered with fluidsynth by scripts/setup.sh's packages), in batches of `--batch-size`
(64, the audio default). `--before REF` loads `contrastkit/views/audio.py` as it was at the
git commit REF and times it in the same run: the two alternate, `--repeats` times each,
and each row is the median.

Usage: python -m benchmarks.audio_views [--before REF] [--repeats 5] [--seconds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import print_table, write_results
from contrastkit.data.instrument_notes import load_instrument_notes
from contrastkit.nn.log_mel import LogMel
from contrastkit.views import audio

ROOT = Path(__file__).resolve().parent.parent


def module_at(ref: str):
    """contrastkit/views/audio.py as it was at git commit `ref`, imported on its own."""
    source = subprocess.run(
        ["git", "show", f"{ref}:contrastkit/views/audio.py"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "audio_views_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("audio_views_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def clips_per_second(module, clips: torch.Tensor, batch: int, seconds: float) -> float:
    """Two views of batches of `clips` (N, T) for about `seconds`; clips per second."""
    views = module.AudioViews(LogMel(16000, n_mels=64, normalize=False))
    g = torch.Generator().manual_seed(0)
    views(clips[:batch], g)  # warm-up
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        views(clips[i : i + batch], g)
        done += batch
        i = (i + batch) % (len(clips) - batch)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="git commit whose audio views to time as well")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", default="audio_views")
    args = parser.parse_args()
    clips = load_instrument_notes().train.clips.float()
    systems = {"contrastkit": audio}
    if args.before:
        systems[f"contrastkit at {args.before}"] = module_at(args.before)
    runs: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.repeats):
        for name, module in systems.items():
            runs[name].append(clips_per_second(module, clips, args.batch_size, args.seconds))
            print(f"{name}: {runs[name][-1]:.0f} clips/s", flush=True)
    rows = [
        {"system": name, "metric": "clips/s (two views, median)",
         "value": round(statistics.median(r), 1), "runs": [round(v, 1) for v in r]}
        for name, r in runs.items()
    ]  # fmt: skip
    if args.before:
        first, second = (statistics.median(r) for r in runs.values())
        rows.append({"system": "contrastkit", "metric": f"speed-up over {args.before}",
                     "value": round(first / second, 2)})  # fmt: skip
    print_table(rows, ["system", "metric", "value"])
    write_results(args.output, rows, batch_size=args.batch_size, clips=list(clips.shape),
                  torch_threads=torch.get_num_threads())  # fmt: skip


if __name__ == "__main__":
    main()
