"""Images/s of contrastkit's batched SimCLR views against the per-image PIL pipeline.

The reference is LightlySSL's SimCLRTransform (torchvision transforms on PIL images, one
image at a time, two views each), which is what LightlySSL and torchvision users run in
their DataLoader. Both produce two normalised views per image at the same output size,
with the same augmentation settings, in this one process. contrastkit runs on uint8
batches of `--batch-size` with torch's threads (and again with 1 thread); the PIL
pipeline is single-threaded, as in one DataLoader worker.

Data (real images): Fashion-MNIST 28x28 grayscale; 32x32 and 224x224 RGB crops of
scikit-learn's bundled sample photographs.

Usage: python benchmarks/augment_throughput.py [--seconds 5] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from benchmarks.common import print_table, write_results
from contrastkit.data import load_fashion_mnist
from contrastkit.views import ImageViews


def photo_crops(size: int, n: int, seed: int = 0) -> np.ndarray:
    """(n, size, size, 3) uint8 random crops of scikit-learn's two sample photographs."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        img = photos[i % len(photos)]
        side = int(rng.integers(size, min(img.shape[:2]) + 1))
        top = int(rng.integers(0, img.shape[0] - side + 1))
        left = int(rng.integers(0, img.shape[1] - side + 1))
        crop = Image.fromarray(img[top : top + side, left : left + side]).resize((size, size))
        out[i] = np.asarray(crop)
    return out


def datasets(n: int) -> dict[str, np.ndarray]:
    fmnist = load_fashion_mnist("train").images[:n, 0].numpy()  # (n, 28, 28)
    return {
        "fashion-mnist 28x28 gray": fmnist,
        "photos 32x32 RGB": photo_crops(32, n),
        "photos 224x224 RGB": photo_crops(224, max(n // 16, 64)),
    }


def lightly_transform(size: int, channels: int):
    from lightly.transforms import SimCLRTransform

    mean, std = [0.5] * channels, [0.25] * channels
    return SimCLRTransform(
        input_size=size, cj_strength=0.5, min_scale=0.08, normalize={"mean": mean, "std": std}
    )


def ours(size: int, channels: int) -> ImageViews:
    return ImageViews.simclr(size=size, mean=(0.5,) * channels, std=(0.25,) * channels)


def time_pil(images: np.ndarray, seconds: float) -> float:
    transform = lightly_transform(images.shape[1], 1 if images.ndim == 3 else 3)
    pil = [Image.fromarray(a) for a in images]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        views = transform(pil[done % len(pil)])
        assert len(views) == 2
        done += 1
    return done / (time.perf_counter() - start)


def time_batched(images: np.ndarray, seconds: float, batch_size: int, threads: int) -> float:
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.from_numpy(images)
        x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()
        views = ours(x.shape[-1], x.shape[1])
        g = torch.Generator().manual_seed(0)
        batches = list(x.split(batch_size))
        views(batches[0], g)  # warm-up
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            b = batches[(done // batch_size) % len(batches)]
            out = views(b, g)
            assert len(out) == 2
            done += b.shape[0]
        return done / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(old)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="timing per measurement")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--images", type=int, default=4096)
    args = parser.parse_args()

    rows, table = [], []
    threads = torch.get_num_threads()
    for name, images in datasets(args.images).items():
        bs = min(args.batch_size, len(images))
        pil = time_pil(images, args.seconds)
        batched = time_batched(images, args.seconds, bs, threads)
        batched_1 = time_batched(images, args.seconds, bs, 1)
        table.append(
            {
                "data": name,
                "PIL per image (LightlySSL) img/s": pil,
                f"contrastkit {threads} threads img/s": batched,
                "contrastkit 1 thread img/s": batched_1,
                "speed-up": batched / pil,
                "speed-up 1 thread": batched_1 / pil,
            }
        )
        for system, value in (
            ("LightlySSL SimCLRTransform (PIL, per image)", pil),
            (f"contrastkit ImageViews.simclr ({threads} threads, batch {bs})", batched),
            (f"contrastkit ImageViews.simclr (1 thread, batch {bs})", batched_1),
        ):
            rows.append({"system": system, "metric": f"images_per_s[{name}]", "value": value})
        rows.append(
            {
                "system": "contrastkit / LightlySSL",
                "metric": f"speedup[{name}]",
                "value": batched / pil,
            }
        )
    print_table(table, list(table[0]))
    path = write_results(
        "augment_throughput",
        rows,
        notes="each image yields two augmented, normalised views; settings: crop 0.08-1, "
        "flip 0.5, colour jitter p 0.8 strength 0.5, grayscale p 0.2, blur p 0.5",
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
