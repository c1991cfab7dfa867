"""`contrastkit embed`: embeddings of a dataset, image folder or text file, to .npz."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from contrastkit.errors import ContrastkitError
from contrastkit.pipeline.embedder import load_embedder


def embed(
    model: str | Path,
    output: str | Path,
    *,
    dataset: str | None = None,
    split: str = "train",
    columns: dict[str, str] | None = None,
) -> tuple[int, int]:
    """Embed `dataset` with a trained encoder and write `output` (.npz): embeddings (N, D)
    float32, ids (N,), and labels (N,) / texts (N,) when known. Returns (N, D).

    `model` is an image run folder (its dataset is the default; images are resized and
    converted as in training) or a text model (train-text run, model folder, "minilm"),
    which embeds the text file `dataset`.
    """
    output = Path(output)
    if output.suffix != ".npz":
        raise ContrastkitError(f"output {output} must end in .npz")
    items = load_embedder(model).embed_source(dataset, split, columns=columns, progress=True)
    payload = {"embeddings": items.vectors, "ids": np.array(items.ids)}
    if items.labels is not None:
        payload["labels"] = items.labels
    if items.texts is not None:
        payload["texts"] = np.array(items.texts)
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(output, **payload)
    return items.vectors.shape
