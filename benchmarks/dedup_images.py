"""Image dedup scoring shared by benchmarks/dedup_calibration.py (the grid, on the training
split) and benchmarks/applications.py (each system at its own training-split best, scored
once on the test split).

A planted set is N real images plus 1,000 near-copies of 1,000 of them (shift <= 1 px,
brightness x0.9-1.1, pixel noise); true pairs are the planted pairs plus the pixel-identical
pairs already in the set. Scores are precision / recall / F1 over pairs of the groups that
`find_duplicates` returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from contrastkit.index import EmbeddingIndex, find_duplicates, group_pairs
from contrastkit.index.dedup import pair_precision_recall

THRESHOLDS = (0.8, 0.85, 0.9, 0.95)
RATIOS = (0.2, 0.3, 0.5, 0.7, None)
MAX_PAIRS = 2_000_000  # a larger answer is one giant group: precision ~0


def near_copies(images: torch.Tensor, seed: int, shift: int = 1) -> torch.Tensor:
    """Near-duplicates of uint8 (N, 1, H, W) images, batched: shift by at most `shift`
    pixels, brightness x0.9-1.1, Gaussian pixel noise (std 4 of 255); no flips."""
    g = torch.Generator().manual_seed(seed)
    n = len(images)
    x = images.float()
    padded = torch.nn.functional.pad(x, (shift,) * 4)
    dy, dx = torch.randint(0, 2 * shift + 1, (2, n), generator=g)
    rows = (torch.arange(x.shape[2])[None, :] + dy[:, None])[:, None, :, None]
    cols = (torch.arange(x.shape[3])[None, :] + dx[:, None])[:, None, None, :]
    channel = torch.zeros(1, 1, 1, 1, dtype=torch.long)
    x = padded[torch.arange(n)[:, None, None, None], channel, rows, cols]
    x = x * (0.9 + 0.2 * torch.rand(n, 1, 1, 1, generator=g))
    x = x + 4.0 * torch.randn(x.shape, generator=g)
    return x.clamp(0, 255).round().to(torch.uint8)


def identical_pairs(keys: np.ndarray) -> np.ndarray:
    """Pairs of positions whose rows (or strings) are equal: each to the first of its kind."""
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    owner = first[inverse.ravel()]
    dup = np.flatnonzero(owner != np.arange(len(keys)))
    return np.stack([owner[dup], dup], 1)


def planted_set(images: torch.Tensor, seed: int, copies: int = 1000):
    """(images (N + copies, 1, H, W) uint8, true pairs (P, 2)) from real uint8 `images`."""
    n = len(images)
    originals = np.random.default_rng(seed).choice(n, size=copies, replace=False)
    mixed = torch.cat([images, near_copies(images[torch.from_numpy(originals)], seed)])
    truth = np.concatenate([
        np.stack([originals, n + np.arange(copies)], 1),
        identical_pairs(images.reshape(n, -1).numpy()),
    ])  # fmt: skip
    return mixed, truth


def score(vectors: np.ndarray, truth: np.ndarray, threshold: float, ratio: float | None):
    """{"precision", "recall", "f1", "found_pairs", "true_pairs"} of `find_duplicates`."""
    n = len(vectors)
    index = EmbeddingIndex(vectors, [str(i) for i in range(n)], "dedup")
    pairs = group_pairs(find_duplicates(index, threshold=threshold, ratio=ratio).group)
    if len(pairs) > MAX_PAIRS:
        out = {"precision": 0.0, "recall": float("nan"), "found_pairs": len(pairs),
               "true_pairs": len(truth)}  # fmt: skip
    else:
        out = pair_precision_recall(pairs, truth, n)
    p, r = out["precision"], out["recall"]
    out["f1"] = 2 * p * r / (p + r) if p + r and r == r else 0.0
    return out


def grid(systems: dict[str, Callable], images: torch.Tensor, truth: np.ndarray) -> list[dict]:
    """One row per system, threshold and ratio (None stored as 1.0: relative test off)."""
    rows = []
    for name, embed in systems.items():
        vectors = embed(images)
        for threshold in THRESHOLDS:
            for ratio in RATIOS:
                s = score(vectors, truth, threshold, ratio)
                rows.append({"system": name, "threshold": threshold, "ratio": ratio or 1.0,
                             "precision": s["precision"], "recall": s["recall"],
                             "f1": s["f1"], "metric": "f1", "value": s["f1"]})  # fmt: skip
    return rows


def best_settings(rows: list[dict]) -> dict[str, dict]:
    """Per system, the grid row of highest F1 (ties: the first in grid order)."""
    best: dict[str, dict] = {}
    for row in rows:
        if row["system"] not in best or row["f1"] > best[row["system"]]["f1"]:
            best[row["system"]] = row
    return best
