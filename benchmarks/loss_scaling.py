"""InfoNCE (NT-Xent, two views) forward + backward at batch 1k..64k, dim 128: time and peak
memory of contrastkit plain, contrastkit tiled, LightlySSL NTXentLoss and
pytorch-metric-learning NTXentLoss, one run.

Each (system, batch) runs in a fresh subprocess so its peak resident memory can be read
(ru_maxrss, minus the resident size once the inputs exist). A configuration whose
estimated memory exceeds --max-gib is skipped and recorded as such. Time: median of 3
timed calls after one warm-up for batches up to 4k; one timed call after a warm-up up to
16k; one call (no warm-up) above.

Usage:
    python -m benchmarks.loss_scaling [--batches 1024,2048,...] [--max-gib 18]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

SYSTEMS = ("contrastkit plain", "contrastkit tiled", "LightlySSL NTXentLoss", "PML NTXentLoss")
GIB = 2**30


def estimate_gib(system: str, batch: int) -> float:
    """Rough memory need: the (2B)^2 float32 similarity matrix and its companions. PML's
    NTXentLoss builds index tuples whose memory grew ~8x per doubling here (0.3 GiB at
    batch 128, 2.1 GiB at 256), so it is extrapolated cubically."""
    if system.startswith("PML"):
        return 2.1 * (batch / 256) ** 3
    entries = (2 * batch) ** 2
    per_entry = 0 if system == "contrastkit tiled" else 16
    return (entries * per_entry + 4096**2 * 16) / GIB


def _loss_fn(system: str):
    import torch

    if system.startswith("contrastkit"):
        from contrastkit.losses import nt_xent

        tile = 0 if system.endswith("plain") else 4096
        return lambda a, b: nt_xent(a, b, temperature=0.1, tile=tile)
    if system.startswith("LightlySSL"):
        from lightly.loss import NTXentLoss

        fn = NTXentLoss(temperature=0.1)
        return lambda a, b: fn(a, b)
    from pytorch_metric_learning.losses import NTXentLoss

    fn = NTXentLoss(temperature=0.1)

    def pml(a, b):
        labels = torch.arange(a.shape[0]).repeat(2)
        return fn(torch.nn.functional.normalize(torch.cat([a, b]), dim=1), labels)

    return pml


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def worker(system: str, batch: int, dim: int) -> dict:
    import torch

    torch.manual_seed(0)
    a = torch.randn(batch, dim, requires_grad=True)
    b = torch.randn(batch, dim, requires_grad=True)
    fn = _loss_fn(system)
    base = _rss_bytes()
    warm = batch <= 16384
    repeats = 3 if batch <= 4096 else 1
    if warm:
        fn(a, b).backward()
    times = []
    for _ in range(repeats):
        a.grad = b.grad = None
        start = time.perf_counter()
        loss = fn(a, b)
        loss.backward()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "seconds": statistics.median(times),
        "peak_extra_mib": max(0.0, (peak - base) / 2**20),
        "loss": loss.item(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1024,2048,4096,8192,16384,32768,65536")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--max-gib", type=float, default=18.0)
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--output", default="loss_scaling")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.batch, args.dim)))
        return

    from benchmarks.common import print_table, write_results

    rows: list[dict] = []
    for batch in (int(b) for b in args.batches.split(",")):
        for system in (s.strip() for s in args.systems.split(",")):
            need = estimate_gib(system, batch)
            row = {"system": system, "batch": batch, "estimated_gib": round(need, 2)}
            if need > args.max_gib:
                row["status"] = f"skipped: needs about {need:.0f} GiB"
            else:
                cmd = [sys.executable, "-m", "benchmarks.loss_scaling", "--worker", system,
                       "--batch", str(batch), "--dim", str(args.dim)]  # fmt: skip
                try:
                    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    done = None
                if done is None:
                    row["status"] = f"timeout after {args.timeout:.0f} s"
                elif done.returncode != 0:
                    row["status"] = "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
                else:
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    row.update(result, status="ok", pairs_per_s=batch / result["seconds"])
            print(json.dumps(row), flush=True)
            rows.append(row)
            for metric, key in (("seconds", "seconds"), ("peak extra MiB", "peak_extra_mib")):
                if key in row:
                    rows.append(
                        {"system": system, "metric": f"{metric} @ {batch}", "value": row[key]}
                    )
    table = [r for r in rows if "batch" in r]
    print_table(table, ["system", "batch", "status", "seconds", "peak_extra_mib", "loss"])
    out = [r for r in rows if "metric" in r] + [
        {"system": r["system"], "metric": f"status @ {r['batch']}", "value": r["status"], **r}
        for r in table
    ]
    print(f"written {write_results(args.output, out, dim=args.dim)}")


if __name__ == "__main__":
    main()
