"""`contrastkit embed`: embeddings of a dataset or folder with a trained encoder, to .npz."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from contrastkit.data.registry import load_dataset
from contrastkit.errors import ContrastkitError
from contrastkit.pipeline.evaluate_run import embed_images
from contrastkit.pipeline.runs import load_trained_encoder, read_config


def embed(
    run_dir: str | Path, output: str | Path, *, dataset: str | None = None, split: str = "train"
) -> tuple[int, int]:
    """Embed `dataset` (default: the run's) and write embeddings (N, D) float32, ids (N,)
    and labels (N,) when known to `output` (.npz). Returns (N, D).

    Images are resized to the run's training image size and converted to its channel count.
    """
    output = Path(output)
    if output.suffix != ".npz":
        raise ContrastkitError(f"output {output} must end in .npz")
    cfg = read_config(run_dir)
    data = load_dataset(
        dataset or cfg.data.dataset,
        split,
        data_dir=cfg.data.data_dir if dataset is None else None,
        image_size=cfg.data.image_size,
        channels=len(cfg.views.mean or [1]),
    )
    encoder = load_trained_encoder(run_dir, cfg, data.channels)
    features = embed_images(encoder, data.images, cfg).numpy()
    payload = {"embeddings": features, "ids": np.array(data.ids)}
    if data.labels is not None:
        payload["labels"] = data.labels.numpy()
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(output, **payload)
    return features.shape
