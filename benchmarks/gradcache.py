"""One SimCLR step at an effective batch of 8,192 Fashion-MNIST images (16,384 views) with
gradient caching: peak memory, time, and its loss and gradients against the uncached step.

Each mode runs in a fresh subprocess (peak resident memory from ru_maxrss, minus the
resident size once data, model and views exist):

  uncached   the whole batch in one forward and backward (the plain step)
  cached     `cached_step`, chunks of --chunk items

The CompactCNN has BatchNorm, whose batch statistics differ between one pass and chunks;
so the comparison is made twice: with BatchNorm in training mode (the two steps differ
as far as per-chunk statistics make them) and with BatchNorm statistics frozen (eval
mode), where the two steps must agree to float rounding.

Usage:
    python -m benchmarks.gradcache [--batch 8192] [--chunk 512]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def worker(mode: str, batch: int, chunk: int, frozen_bn: bool, out: str, bf16: bool) -> dict:
    import torch

    from contrastkit.methods.base import Batch
    from contrastkit.modalities.image import ImageModality
    from contrastkit.modalities.image_config import build_image_views
    from contrastkit.pipeline.settings import load_config
    from contrastkit.pipeline.train_run import build_method
    from contrastkit.train.grad_cache import cached_step

    torch.set_num_threads(2)
    cfg = load_config("simclr_fashion_mnist", {"train.steps": 1, "data.holdout": 0})
    modality = ImageModality()
    prepared = modality.prepare(cfg, None)  # no hold-out: the whole training split, in order
    data = prepared.train
    cfg = modality.resolve(cfg, prepared)
    torch.manual_seed(0)
    method = build_method(cfg, modality, prepared)
    method.train()
    if frozen_bn:
        for m in method.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
    views = build_image_views(cfg.views)(data.images[:batch], torch.Generator().manual_seed(0))
    step = Batch(views=views)
    base = _rss_bytes()
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        if mode == "cached":
            loss = cached_step(method, step, chunk).loss
        else:
            out_ = method.training_step(step)
            loss = out_.loss
    if mode != "cached":
        loss.backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    grads = torch.cat([p.grad.flatten() for p in method.parameters() if p.grad is not None])
    torch.save(grads, out)
    return {"seconds": seconds, "peak_extra_gib": (peak - base) / 2**30, "loss": loss.item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--output", default="gradcache")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--frozen-bn", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--grads", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        bf16 = args.precision == "bf16"
        result = worker(args.worker, args.batch, args.chunk, args.frozen_bn, args.grads, bf16)
        print(json.dumps(result))
        return

    import torch

    from benchmarks.common import print_table, write_results

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for frozen in (False, True):
            results = {}
            for mode in ("uncached", "cached"):
                grads = str(Path(tmp) / f"{mode}-{frozen}.pt")
                cmd = [
                    sys.executable,
                    "-m",
                    "benchmarks.gradcache",
                    "--worker",
                    mode,
                    "--batch",
                    str(args.batch),
                    "--chunk",
                    str(args.chunk),
                    "--grads",
                    grads,
                    "--precision",
                    args.precision,
                ]
                cmd += ["--frozen-bn"] if frozen else []  # fmt: skip
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"{mode} failed: {done.stderr[-2000:]}")
                results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
                results[mode]["grads"] = torch.load(grads)
            a, b = results["uncached"]["grads"], results["cached"]["grads"]
            rel = float((a - b).norm() / a.norm())
            bn = "BatchNorm frozen" if frozen else "BatchNorm training"
            for mode, r in results.items():
                label = f"{mode} ({bn})" + (f", chunks of {args.chunk}" if mode == "cached" else "")
                for metric in ("peak_extra_gib", "seconds", "loss"):
                    rows.append({"system": label, "metric": metric, "value": r[metric]})
            rows.append({"system": f"cached vs uncached ({bn})", "metric": "grad rel. difference",
                         "value": rel})  # fmt: skip
            gap = abs(results["cached"]["loss"] - results["uncached"]["loss"])
            rows.append({"system": f"cached vs uncached ({bn})", "metric": "loss difference",
                         "value": gap})  # fmt: skip
    print_table(rows, ["system", "metric", "value"])
    extra = {"batch": args.batch, "chunk": args.chunk, "precision": args.precision}
    print(f"written {write_results(args.output, rows, **extra)}")


if __name__ == "__main__":
    main()
