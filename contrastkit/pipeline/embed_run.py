"""`contrastkit embed`: embeddings of a run's data (or another source) to an .npz file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from contrastkit.errors import ContrastkitError
from contrastkit.pipeline.embedder import load_embedder

__all__ = ["embed"]


def embed(
    model: str | Path,
    output: str | Path,
    *,
    dataset: str | None = None,
    split: str = "train",
    device: str = "auto",
    progress: bool = False,
) -> tuple[int, int]:
    """Embed the run's `split` (or `dataset`, read as the run reads its data) on `device`
    and write `output` (.npz): embeddings (N, D) float32, ids (N,), and labels (N,) / texts
    (N,) when known; `progress` shows a progress bar. Returns (N, D)."""
    output = Path(output)
    if output.suffix != ".npz":
        raise ContrastkitError(f"output {output} must end in .npz")
    items = load_embedder(model, device).embed_source(dataset, split, progress)
    payload = {"embeddings": items.vectors, "ids": np.array(items.ids)}
    if items.labels is not None:
        payload["labels"] = items.labels
    if items.texts is not None:
        payload["texts"] = np.array(items.texts)
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(output, **payload)
    return items.vectors.shape
