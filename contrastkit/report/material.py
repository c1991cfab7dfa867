"""The embedded items a report shows: a sample for the map, queries and a neighbour bank.

Image runs: the map shows a sample of the test split (of the training split when the
data has none); queries come from that sample, one per class first; neighbours are
searched in a sample of the training split (the whole split with bank=0).

Text runs: when the data has pairs, the pairs the run held out (the same seeded split
`train-text` used, so none was trained on) give the queries (anchors) and the bank
(their positives): a neighbour is "right" when it is the query's own positive. A plain
text list gives queries and bank from the file itself, a query never finding itself.
Labels, when the file has a label column, colour the map and mark neighbours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from contrastkit.errors import ContrastkitError
from contrastkit.report.embeddings import pick_queries
from contrastkit.report.run_data import RunData

Log = Callable[[str], None]


@dataclass
class Material:
    """Embedded items of one run.

    Attributes:
        modality: "image" or "text".
        map_vectors: (N, D) embeddings of the map sample.
        map_labels: (N,) int labels of the map sample, or None.
        class_names: names indexed by label, or None.
        map_source: what the map sample is, for captions ("2,000 test images").
        query_items: Q images ((C, H, W) uint8 arrays) or texts.
        query_ids: Q item ids (a bank item with the same id is never a neighbour).
        query_vectors: (Q, D) query embeddings.
        query_labels: (Q,) int labels, or None.
        query_targets: per query, the bank position of its paired text, or None.
        bank_items: M images ((M, C, H, W) uint8) or M texts.
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
    query_targets: list[int | None] | None
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


def image_material(
    run: RunData, *, points: int, bank: int, queries: int, seed: int, log: Log
) -> Material:
    """Embed a test sample, queries and a training bank with the run's trained encoder.

    Raises:
        ContrastkitError: the dataset cannot be loaded or the run has no final encoder.
    """
    import torch

    from contrastkit.pipeline.build import load_splits
    from contrastkit.pipeline.evaluate_run import embed_images
    from contrastkit.pipeline.runs import load_trained_encoder

    cfg = run.config
    splits = load_splits(cfg.data.model_copy(update={"holdout": 0}), cfg.train.seed)
    train = splits.train
    shown, split_name = (splits.test, "test") if splits.test is not None else (train, "training")
    encoder = load_trained_encoder(run.path, cfg, train.channels)
    rng = np.random.default_rng(seed)
    map_pos = _sample(len(shown), points, rng)
    bank_pos = _sample(len(train), bank, rng)

    def embed(images: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            return embed_images(encoder, images, cfg).numpy()

    log(f"embedding {len(map_pos)} {split_name} images for the map")
    map_vectors = embed(shown.images[map_pos])
    log(f"embedding {len(bank_pos)} training images to search for neighbours")
    bank_vectors = embed(train.images[bank_pos])
    map_labels = None if shown.labels is None else shown.labels[map_pos].numpy()
    bank_labels = None if train.labels is None else train.labels[bank_pos].numpy()
    q = pick_queries(map_labels, len(map_pos), queries, seed)
    whole = "the whole" if len(bank_pos) == len(train) else f"{len(bank_pos):,} sampled from the"
    return Material(
        modality="image",
        map_vectors=map_vectors,
        map_labels=map_labels,
        class_names=train.classes,
        map_source=f"{len(map_pos):,} {split_name} images",
        query_items=[shown.images[map_pos[i]].numpy() for i in q],
        query_ids=[shown.ids[map_pos[i]] for i in q],
        query_vectors=map_vectors[q],
        query_labels=None if map_labels is None else map_labels[q],
        query_targets=None,
        bank_items=train.images[bank_pos],
        bank_ids=[train.ids[i] for i in bank_pos],
        bank_vectors=bank_vectors,
        bank_labels=bank_labels,
        bank_source=f"{whole} training split ({len(train):,} images)",
    )


def _codes(labels: list[str] | None) -> tuple[np.ndarray | None, list[str] | None]:
    """String labels -> (int codes, sorted class names)."""
    if labels is None:
        return None, None
    names, codes = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    return codes, [str(n) for n in names]


def text_material(
    run: RunData, *, points: int, bank: int, queries: int, seed: int, log: Log
) -> Material:
    """Embed held-out queries and their candidates (or a text sample) with the run's model.

    Raises:
        ContrastkitError: the run has no exported model, or its text file cannot be read.
    """
    from contrastkit.data.text import load_texts
    from contrastkit.pipeline.embedder import TextEmbedder
    from contrastkit.pipeline.text_run import _split

    settings = run.settings or {}
    if not (run.path / "model" / "config.json").is_file():
        raise ContrastkitError(
            f"{run.path} has no model/ folder yet: the run has not finished; resume it with "
            f"`contrastkit train-text --resume --run-dir {run.path} ...`"
        )
    data = load_texts(settings["data"], columns=settings.get("columns"))
    embedder = TextEmbedder(run.path)
    rng = np.random.default_rng(seed)
    held_out = None
    if data.positive is not None:
        _, held_out = _split(data, int(settings.get("holdout", 0)), int(settings.get("seed", 0)))
    pool = held_out if held_out is not None else data
    labels, names = _codes(pool.label)
    map_pos = _sample(len(pool), points, rng)
    log(f"embedding {len(map_pos)} texts for the map")
    map_vectors = embedder.embed_texts([pool.anchor[i] for i in map_pos])
    map_labels = None if labels is None else labels[map_pos]
    what = "held-out " if held_out is not None else ""
    if pool.positive is not None:  # pairs: anchors ask, positives answer
        bank_pos = _sample(len(pool), bank, rng)
        q = pick_queries(None if labels is None else labels[bank_pos], len(bank_pos), queries, seed)
        log(f"embedding {len(bank_pos)} {what}positives to search")
        bank_texts = [pool.positive[i] for i in bank_pos]
        query_rows = [int(bank_pos[i]) for i in q]
        query_vectors = embedder.embed_texts([pool.anchor[r] for r in query_rows])
        return Material(
            modality="text",
            map_vectors=map_vectors,
            map_labels=map_labels,
            class_names=names,
            map_source=f"{len(map_pos):,} {what}anchor texts",
            query_items=[pool.anchor[r] for r in query_rows],
            query_ids=[f"anchor/{r}" for r in query_rows],
            query_vectors=query_vectors,
            query_labels=None if labels is None else labels[query_rows],
            query_targets=list(q),
            bank_items=bank_texts,
            bank_ids=[f"positive/{i}" for i in bank_pos],
            bank_vectors=embedder.embed_texts(bank_texts),
            bank_labels=None if labels is None else labels[bank_pos],
            bank_source=f"the positives of {len(bank_pos):,} {what}pairs",
        )
    bank_pos = _sample(len(pool), bank, rng)
    q = pick_queries(map_labels, len(map_pos), queries, seed)
    query_rows = [int(map_pos[i]) for i in q]
    log(f"embedding {len(bank_pos)} texts to search")
    bank_texts = [pool.anchor[i] for i in bank_pos]
    return Material(
        modality="text",
        map_vectors=map_vectors,
        map_labels=map_labels,
        class_names=names,
        map_source=f"{len(map_pos):,} texts of {data.source}",
        query_items=[pool.anchor[r] for r in query_rows],
        query_ids=[str(r) for r in query_rows],
        query_vectors=map_vectors[q],
        query_labels=None if labels is None else labels[query_rows],
        query_targets=None,
        bank_items=bank_texts,
        bank_ids=[str(i) for i in bank_pos],
        bank_vectors=embedder.embed_texts(bank_texts),
        bank_labels=None if labels is None else labels[bank_pos],
        bank_source=f"{len(bank_pos):,} texts of the same file (a query never finds itself)",
    )


def load_material(
    run: RunData, *, points: int, bank: int, queries: int, seed: int, log: Log
) -> Material:
    """The embedded items of an image or text run (see the module docstring)."""
    build = image_material if run.kind == "image" else text_material
    return build(run, points=points, bank=bank, queries=queries, seed=seed, log=log)
