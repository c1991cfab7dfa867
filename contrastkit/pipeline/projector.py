"""The TensorBoard embedding projector of a run: its test embeddings after evaluation, with
ids, labels (class names) and texts as metadata, and thumbnails for images."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from contrastkit.config import Config
from contrastkit.errors import ContrastkitError
from contrastkit.modalities.base import ItemSet, Modality, Prepared
from contrastkit.train.loggers import TensorBoardLogger

__all__ = ["PROJECTOR_ITEMS", "write_projector"]

PROJECTOR_ITEMS = 1000
"""Items shown at most (a seeded sample of the test split): the projector stays fast."""
_THUMB = 64  # thumbnails larger than this are shrunk (the sprite stays under 8192 px)


def write_projector(
    run_dir: Path, cfg: Config, modality: Modality, data: Prepared, model: Any,
    *, limit: int = PROJECTOR_ITEMS,
) -> Path | None:  # fmt: skip
    """Embed up to `limit` test items with `model` into RUN/tensorboard's projector, at the
    run's last step (the training items where the data has no test split, such as the
    catalogue of an interactions run); None (nothing written) without the tensorboard
    logger, on a rank other than 0 (torchrun), or without items. Evaluating again replaces
    the projector's files."""
    if "tensorboard" not in cfg.train.loggers or os.environ.get("RANK", "0") != "0":
        return None
    split, items = _items(cfg, modality, data)
    if items is None or len(items) == 0:
        return None
    if len(items) > limit:
        rng = np.random.default_rng(cfg.train.seed)
        items = items.take(np.sort(rng.choice(len(items), limit, replace=False)))
    if isinstance(items.items, list) and items.items and isinstance(items.items[0], torch.Tensor):
        items = replace(items, items=torch.stack(items.items))  # streamed images, one by one
    vectors = np.asarray(modality.embed(model, items, cfg, data), dtype=np.float32)
    header, metadata = _metadata(items)
    summary = run_dir / "summary.json"
    step = json.loads(summary.read_text()).get("steps", 0) if summary.is_file() else 0
    writer = TensorBoardLogger(run_dir)
    try:
        writer.log_embeddings(
            vectors, step=int(step), metadata=metadata, header=header,
            images=_thumbnails(items), tag=split,
        )  # fmt: skip
    finally:
        writer.close()
    return Path(writer.writer.get_logdir())


def _items(cfg: Config, modality: Modality, data: Prepared) -> tuple[str, ItemSet | None]:
    """(split, its items): the test split, else the training split, else ("", None)."""
    for split in ("test", "train"):
        try:
            return split, modality.items(cfg, data, split)
        except (ContrastkitError, NotImplementedError):
            continue
    return "", None


def _metadata(items: ItemSet) -> tuple[list[str] | None, list[Any]]:
    """(header, one row per item): id, then label and text where the items have them; a
    single column has no header (as the projector reads it)."""
    header, columns = ["id"], [list(items.ids)]
    if items.labels is not None:
        names = items.classes
        header.append("label")
        columns.append(
            [names[int(y)] if names and 0 <= int(y) < len(names) else str(y) for y in items.labels]
        )
    if items.texts is not None:
        header.append("text")
        columns.append([" ".join(str(t).split())[:100] for t in items.texts])
    clean = [[c.replace("\t", " ") for c in column] for column in columns]
    if len(clean) == 1:
        return None, clean[0]
    return header, [list(row) for row in zip(*clean, strict=True)]


def _thumbnails(items: ItemSet) -> torch.Tensor | None:
    """(N, C, H, W) floats in [0, 1] of uint8 image items (1 or 3 channels), else None."""
    x = items.items
    if not (isinstance(x, torch.Tensor) and x.dtype == torch.uint8 and x.dim() == 4):
        return None
    if x.shape[1] not in (1, 3):
        return None
    thumbs = x.float() / 255
    if max(thumbs.shape[2:]) > _THUMB:
        scale = _THUMB / max(thumbs.shape[2:])
        thumbs = torch.nn.functional.interpolate(
            thumbs, scale_factor=scale, mode="bilinear", antialias=True
        ).clamp(0, 1)
    return thumbs
