"""The embedded items a report shows: a sample for the map, queries and a neighbour bank.

For every modality: the map shows a sample of the run's test split (of its training
split when the data has none), queries come from that sample (one per class first), and
neighbours are searched in a sample of the training split (the whole split with
bank=0). Items that are pictures (images, image-caption pairs) are shown as pictures;
everything else by its text (texts, captions, titles, names) or its id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from contrastkit.errors import ContrastkitError
from contrastkit.modalities.base import ItemSet
from contrastkit.progress import bars_shown
from contrastkit.report.embeddings import pick_queries
from contrastkit.report.run_data import RunData

Log = Callable[[str], None]


@dataclass
class Material:
    """Embedded items of one run.

    Attributes:
        modality: "image" when items are shown as pictures, else "text".
        map_vectors: (N, D) embeddings of the map sample.
        map_labels: (N,) int labels of the map sample, or None.
        class_names: names indexed by label, or None.
        map_source: what the map sample is, for captions ("2,000 test items").
        query_items: Q pictures ((C, H, W) uint8 arrays) or texts.
        query_ids: Q item ids (a bank item with the same id is never a neighbour).
        query_vectors: (Q, D) query embeddings.
        query_labels: (Q,) int labels, or None.
        bank_items: M pictures ((M, C, H, W) uint8 tensor) or M texts.
        bank_ids: M item ids.
        bank_vectors: (M, D) bank embeddings.
        bank_labels: (M,) int labels, or None.
        bank_source: what the bank is, for captions.
    """

    modality: str
    map_vectors: np.ndarray
    map_labels: np.ndarray | None
    class_names: list[str] | None
    map_source: str
    query_items: list[Any]
    query_ids: list[str]
    query_vectors: np.ndarray
    query_labels: np.ndarray | None
    bank_items: Any
    bank_ids: list[str]
    bank_vectors: np.ndarray
    bank_labels: np.ndarray | None
    bank_source: str


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of `size` items drawn without replacement (all when size <= 0)."""
    if size <= 0 or size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _pictures(items: ItemSet) -> bool:
    x = items.items
    return isinstance(x, torch.Tensor) and x.dtype == torch.uint8 and x.ndim == 4


def _shown(items: ItemSet) -> Any:
    """What to show of each item: the uint8 pictures, else a text per item."""
    if _pictures(items):
        return items.items
    texts = items.texts or items.ids
    return [t if i == t else f"{t} [{i}]" for t, i in zip(texts, items.ids, strict=True)]


def load_material(
    run: RunData, *, points: int, bank: int, queries: int, seed: int, log: Log
) -> Material:
    """Embed a test sample, queries and a training bank with the run's trained model.

    Raises:
        ContrastkitError: the data cannot be loaded or the run has no final weights.
    """
    from contrastkit.pipeline.embedder import load_embedder

    embedder = load_embedder(run.path)
    train = embedder.item_set(None, "train")
    try:
        shown, split = embedder.item_set(None, "test"), "test"
    except ContrastkitError:
        shown, split = train, "training"
    rng = np.random.default_rng(seed)
    map_items = shown.take(_sample(len(shown), points, rng))
    bank_items = train.take(_sample(len(train), bank, rng))
    log(f"embedding {len(map_items)} {split} items for the map")
    map_vectors = embedder.embed_items(map_items, bars_shown()).vectors
    log(f"embedding {len(bank_items)} training items to search for neighbours")
    bank_vectors = embedder.embed_items(bank_items, bars_shown()).vectors
    q = pick_queries(map_items.labels, len(map_items), queries, seed)
    queried = map_items.take(q)
    pictures = _pictures(train)
    whole = (
        "the whole" if len(bank_items) == len(train) else f"{len(bank_items):,} sampled from the"
    )
    return Material(
        modality="image" if pictures else "text",
        map_vectors=map_vectors,
        map_labels=map_items.labels,
        class_names=train.classes,
        map_source=f"{len(map_items):,} {split} items",
        query_items=[x.numpy() for x in queried.items] if pictures else list(_shown(queried)),
        query_ids=queried.ids,
        query_vectors=map_vectors[q],
        query_labels=queried.labels,
        bank_items=_shown(bank_items),
        bank_ids=bank_items.ids,
        bank_vectors=bank_vectors,
        bank_labels=bank_items.labels,
        bank_source=f"{whole} training split ({len(train):,} items)",
    )
