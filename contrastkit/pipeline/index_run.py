"""The work behind `contrastkit index / search / dedup / anomalies / cluster`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from contrastkit.errors import ContrastkitError
from contrastkit.files import write_json
from contrastkit.index.anomaly import anomaly_scores
from contrastkit.index.cluster import clustering_scores, kmeans
from contrastkit.index.dedup import DEFAULT_RATIO, DEFAULT_THRESHOLD, find_duplicates
from contrastkit.index.store import EmbeddingIndex
from contrastkit.pipeline.embedder import Items, load_embedder


def build_index(
    model: str | Path,
    output: str | Path,
    *,
    source: str | None = None,
    split: str = "train",
    kind: str = "flat",
    device: str = "auto",
    progress: bool = False,
) -> EmbeddingIndex:
    """Embed `source` (default: the run's own `split`) with `model` on `device` and save an
    index folder (its FAISS index too, read back by `EmbeddingIndex.load`); `progress`
    shows bars while embedding and indexing."""
    embedder = load_embedder(model, device)
    items = embedder.embed_source(source, split, progress)
    index = EmbeddingIndex(
        vectors=items.vectors,
        ids=items.ids,
        fingerprint=embedder.fingerprint,
        source=embedder.source,
        modality=embedder.modality,
        kind=kind,
        labels=items.labels,
        texts=items.texts,
        info={"data": source or items.name, "split": split},
        progress=progress,
    )
    index.save(output)
    return index


def query_vectors(
    index: EmbeddingIndex,
    *,
    text: str | None = None,
    file: str | None = None,
    item_id: str | None = None,
    model: str | None = None,
    device: str = "auto",
) -> tuple[np.ndarray, int | None]:
    """The (1, D) query embedding and, for an id query, its own position (to leave out).

    A text or a file (an image, a sound) is embedded by `model` (default: the encoder that
    built the index) on `device`, which must have the index's fingerprint; the model is
    loaded without its training data where it can be (`load_embedder(data_free=True)`).
    """
    given = [q for q in (text, file, item_id) if q is not None]
    if len(given) != 1:
        raise ContrastkitError("give exactly one query: --text, --file or --id")
    if item_id is not None:
        position = index.position(item_id)
        return index.vectors[position : position + 1], position
    where = model or index.source
    if not where:
        raise ContrastkitError("the index does not record its encoder: pass --model")
    embedder = load_embedder(where, device, data_free=True)  # a query needs no training data
    index.check_encoder(embedder.fingerprint, source=str(where))
    if text is not None:
        return embedder.embed_query(text, "text"), None
    return embedder.embed_query(str(file), "file"), None


def search_rows(
    index: EmbeddingIndex, query: np.ndarray, k: int, exclude: int | None = None
) -> list[dict[str, Any]]:
    """The top-k results of one query as rows: rank, id, score (and label / text)."""
    scores, positions = index.search(query, k + (exclude is not None))
    rows = []
    for score, pos in zip(scores[0], positions[0], strict=True):
        if pos < 0 or pos == exclude or len(rows) == k:
            continue
        rows.append(describe(index, int(pos), rank=len(rows) + 1, score=round(float(score), 4)))
    return rows


def describe(items: EmbeddingIndex | Items, pos: int, **extra: Any) -> dict[str, Any]:
    """Item `pos` as a row: extra fields first, then id, label and text when known."""
    row: dict[str, Any] = {**extra, "id": items.ids[pos]}
    if items.labels is not None:
        row["label"] = int(items.labels[pos])
    if items.texts is not None:
        row["text"] = items.texts[pos]
    return row


def dedup_rows(
    index: EmbeddingIndex,
    threshold: float = DEFAULT_THRESHOLD,
    k: int = 10,
    ratio: float | None = DEFAULT_RATIO,
) -> tuple[list[dict], Any]:
    """One row per grouped item: group, id, action keep/remove, similarity to the kept one."""
    found = find_duplicates(index, threshold=threshold, k=k, ratio=ratio)
    grouped = np.flatnonzero(found.group >= 0)
    grouped = grouped[np.lexsort((grouped, found.group[grouped]))]
    rows = [
        describe(
            index,
            int(i),
            group=int(found.group[i]),
            action="keep" if found.keep[i] else "remove",
            similarity=round(float(found.similarity_to_kept[i]), 4),
        )
        for i in grouped
    ]
    return rows, found


def anomaly_rows(
    index: EmbeddingIndex, k: int, top: int | None = None, queries: Items | None = None
) -> list[dict[str, Any]]:
    """Items ranked by anomaly score, most anomalous first: the index's own items, or the
    `queries` embedded by the index's encoder."""
    scored = index if queries is None else queries
    scores = anomaly_scores(index, None if queries is None else queries.vectors, k=k)
    order = np.argsort(-scores, kind="stable")[:top]
    return [
        describe(scored, int(i), rank=r + 1, score=round(float(scores[i]), 4))
        for r, i in enumerate(order)
    ]


def embed_for_index(
    index: EmbeddingIndex,
    source: str,
    split: str = "test",
    device: str = "auto",
    progress: bool = False,
) -> Items:
    """Embed another source with the index's own encoder (checked by fingerprint) on
    `device`."""
    embedder = load_embedder(index.source, device)
    index.check_encoder(embedder.fingerprint, source=index.source)
    return embedder.embed_source(source, split, progress)


def cluster_rows(
    index: EmbeddingIndex, k: int, seed: int = 0
) -> tuple[list[dict], list[dict], dict[str, float] | None]:
    """(per-item assignment rows, per-cluster summary rows, NMI/ARI when labels exist)."""
    result = kmeans(index.vectors, k, seed=seed)
    items = [describe(index, i, cluster=int(c)) for i, c in enumerate(result.assignment)]
    summary = [
        {
            "cluster": c,
            "size": int(result.sizes[c]),
            "representatives": " ".join(index.ids[i] for i in result.representatives[c]),
        }
        for c in range(k)
    ]
    scores = None if index.labels is None else clustering_scores(index.labels, result.assignment)
    return items, summary, scores


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Write rows as CSV (columns from the union of keys, in first-seen order) or JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        write_json(path, rows, indent=1)
        return
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
