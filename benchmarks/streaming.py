"""Training from an image folder streamed from disk vs decoded into memory.

Builds JPEG folders of real images (Fashion-MNIST's 70,000 train and test images, resized
to 64x64 with bilinear interpolation; beyond 70,000, further variants of each image: a
central crop of 26 or 24 pixels resized to 64 and saved at JPEG quality 80 or 70), one
subfolder per class. Then trains SimCLR through `contrastkit train` for a fixed number of
steps, every image decoded and resized to `--image-size` (default 32) by either path:
streamed (`data.max_memory=0`) on a 50,000-file and a 200,000-file folder, and in memory
on the 50,000-file folder. Reported per run: training items/s (summary.json, which
excludes loading), wall time, and the peak memory of the training process with its
decoding workers (the sum of their proportional set sizes, sampled every 0.2 s).

    python -m benchmarks.streaming --steps 40 --batch-size 128 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import print_table, write_results

SIZE = 64


def _variant(pixels: np.ndarray, k: int) -> tuple[Image.Image, int]:
    """Variant k of a 28x28 image at 64x64, and its JPEG quality."""
    img = Image.fromarray(pixels)
    if k:
        side = 28 - 2 * k  # a central crop, zoomed in
        off = (28 - side) // 2
        img = img.crop((off, off, off + side, off + side))
    return img.resize((SIZE, SIZE), Image.Resampling.BILINEAR), (90, 80, 70)[k % 3]


def make_folder(root: Path, n: int) -> Path:
    """`n` JPEG files of Fashion-MNIST images (see the module docstring), once."""
    from contrastkit.data.idx import load_fashion_mnist

    done = root / ".complete"
    if done.is_file() and int(done.read_text()) == n:
        return root
    parts = [load_fashion_mnist(s) for s in ("train", "test")]
    images = np.concatenate([p.images[:, 0].numpy() for p in parts])
    labels = np.concatenate([p.labels.numpy() for p in parts])
    for c in range(10):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        j, k = i % len(images), i // len(images)
        img, quality = _variant(images[j], k)
        img.save(root / f"class{labels[j]}" / f"{i:06d}.jpg", quality=quality)
    done.write_text(str(n))
    return root


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _pss_bytes(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def run(folder: Path, stream: bool, steps: int, batch: int, size: int, out: Path) -> dict:
    """One `contrastkit train` run; its items/s, wall seconds and peak memory (MB)."""
    args = [sys.executable, "-m", "contrastkit.cli", "train", "--dataset", str(folder),
            "--steps", str(steps), "--batch-size", str(batch), "--no-evaluate",
            "--image-size", str(size),
            "--no-progress", "-o", str(out), "--set", "train.monitor_every=0",
            "--set", "data.holdout=0",
            "--set", f"data.max_memory={'0' if stream else '100GB'}"]  # fmt: skip
    start = time.perf_counter()
    log = out.with_suffix(".log")
    with log.open("w") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _pss_bytes(_tree(proc.pid)))
            time.sleep(0.2)
    if proc.returncode:
        raise RuntimeError(f"training failed: {log.read_text()[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"items_per_s": summary["items_per_second"], "wall_s": time.perf_counter() - start,
            "peak_mb": peak / 1e6}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--image-size", type=int, default=32, help="decode and resize to this")
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "contrastkit-stream"))
    a = ap.parse_args()
    data = Path(a.data)
    folders = {n: make_folder(data / f"fmnist64-{n // 1000}k", n) for n in (50_000, 200_000)}
    systems = [("in memory, 50k files", folders[50_000], False),
               ("streamed, 50k files", folders[50_000], True),
               ("streamed, 200k files", folders[200_000], True)]  # fmt: skip
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in systems}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):  # interleaved, so drifts in machine speed hit all alike
            for name, folder, stream in systems:
                out = Path(tmp) / f"{r}-{len(runs[name])}-{stream}-{folder.name}"
                runs[name].append(run(folder, stream, a.steps, a.batch_size, a.image_size, out))
                print(name, runs[name][-1], flush=True)
    load_after = os.getloadavg()[0]
    memory_rate = statistics.median(x["items_per_s"] for x in runs["in memory, 50k files"])
    rows = []
    for name, _, _ in systems:
        rate = statistics.median(x["items_per_s"] for x in runs[name])
        for metric, value in (
            ("items/s (median)", rate),
            ("ratio to in-memory items/s", rate / memory_rate),
            ("peak memory MB (max)", max(x["peak_mb"] for x in runs[name])),
            ("wall s incl. loading (median)", statistics.median(x["wall_s"] for x in runs[name])),
        ):
            rows.append({"system": name, "metric": metric, "value": round(value, 3)})
    print_table(rows, ["system", "metric", "value"])
    quiet = load_before < 1.0 and load_after < 2.5  # 2 cores: training itself loads ~2
    path = write_results("streaming", rows, runs=runs, steps=a.steps, batch_size=a.batch_size,
                         image_size=a.image_size, load_before=load_before,
                         load_after=load_after, quiet=quiet)  # fmt: skip
    print(f"wrote {path}" + ("" if quiet else " (machine was loaded: not for citing)"))


if __name__ == "__main__":
    main()
