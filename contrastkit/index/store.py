"""An embedding index on disk: unit vectors, item ids, and the encoder that made them.

Folder layout (everything loads without pickle):

    index.json     kind, dim, count, engine parameters, the encoder's fingerprint and source,
                   the measured recall@10 of an approximate kind against exact search
    vectors.npy    (N, D) float32 unit vectors
    items.json     ids, and labels / texts when known
    faiss.index    the FAISS index itself (`faiss.write_index`), when FAISS built it: search,
                   dedup and anomalies read it back instead of building it again
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from contrastkit.errors import ConfigError, ContrastkitError, DataFormatError
from contrastkit.files import atomic_write, write_json
from contrastkit.index.engine import VectorEngine, faiss_or_none, normalize

META_FILE = "index.json"
VECTORS_FILE = "vectors.npy"
ITEMS_FILE = "items.json"
FAISS_FILE = "faiss.index"


class EncoderMismatchError(ContrastkitError):
    """Queries come from another encoder than the one an index was built with."""


@dataclass
class EmbeddingIndex:
    """Unit vectors with ids, searchable by vector or by id.

    Attributes:
        vectors: (N, D) float32 unit vectors.
        ids: N unique item ids.
        fingerprint: digest of the encoder weights that produced the vectors.
        source: where that encoder lives (a run or model folder), for later queries.
        modality: "image" or "text".
        kind: "flat" (exact), "ivf" or "hnsw" (approximate, FAISS).
        labels: (N,) int64 class labels, or None.
        texts: N texts for text items, or None.
        info: extra facts kept in index.json (dataset, split, recall of approximate kinds).
        engine_options: arguments of `VectorEngine` (use_faiss, nlist, nprobe, m, ...).
        prebuilt: a FAISS index over exactly these vectors (as `load` reads it from
            faiss.index), searched instead of building one; prebuilt_params: its
            parameters as index.json records them.
        progress: show a progress bar while the FAISS index is built.
    """

    vectors: np.ndarray
    ids: list[str]
    fingerprint: str
    source: str = ""
    modality: str = "image"
    kind: str = "flat"
    labels: np.ndarray | None = None
    texts: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    engine_options: dict[str, Any] = field(default_factory=dict)
    prebuilt: Any = field(default=None, repr=False)  # a FAISS index read from disk ...
    prebuilt_params: dict[str, Any] = field(default_factory=dict, repr=False)  # ... its nlist, m
    progress: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.vectors = normalize(self.vectors)
        n = len(self.vectors)
        self.ids = [str(i) for i in self.ids]
        if len(self.ids) != n:
            raise DataFormatError(f"{n} vectors but {len(self.ids)} ids")
        if len(set(self.ids)) != n:
            raise DataFormatError("item ids must be unique")
        if self.labels is not None and len(self.labels) != n:
            raise DataFormatError(f"{n} vectors but {len(self.labels)} labels")
        if self.texts is not None and len(self.texts) != n:
            raise DataFormatError(f"{n} vectors but {len(self.texts)} texts")
        options = dict(self.engine_options)
        if self.prebuilt is not None:
            options.update(self.prebuilt_params)
        self.engine = VectorEngine(
            self.vectors, self.kind, prebuilt=self.prebuilt, progress=self.progress, **options
        )
        self.prebuilt = None  # held by the engine
        self._position = {item: i for i, item in enumerate(self.ids)}
        if self.kind != "flat" and "recall@10" not in self.info:
            self.info["recall@10"] = self.measured_recall(k=10)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def position(self, item_id: str) -> int:
        """The row of `item_id`; a clear error names an unknown id."""
        try:
            return self._position[str(item_id)]
        except KeyError:
            examples = ", ".join(self.ids[:3])
            raise ContrastkitError(
                f"unknown id {item_id!r}: the index holds {len(self)} items (ids like {examples})"
            ) from None

    def check_encoder(self, fingerprint: str, source: str = "the query encoder") -> None:
        """Refuse queries embedded by another encoder than the one that built the index."""
        if fingerprint != self.fingerprint:
            raise EncoderMismatchError(
                f"{source} (fingerprint {fingerprint}) is not the encoder this index was built "
                f"with (fingerprint {self.fingerprint}, from {self.source or 'unknown'}); "
                "rebuild the index with `contrastkit index` or query with the original encoder"
            )

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(Q, D) query embeddings -> (scores (Q, k), positions (Q, k)), most similar first."""
        return self.engine.search(normalize(queries), k)

    def neighbours(self, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Each item's k nearest *other* items: (scores (N, k), positions (N, k)).

        The item itself is dropped from its own list (exact duplicates of it stay).
        """
        k = min(k, len(self) - 1)
        if k < 1:
            raise ConfigError("neighbours need an index of at least two items")
        scores, positions = self.engine.search(self.vectors, k + 1)  # already unit rows
        own = positions == np.arange(len(self))[:, None]
        # drop the item itself where it was returned, else the last (weakest) column
        drop = np.where(own.any(axis=1), own.argmax(axis=1), k)
        keep = np.ones_like(own)
        keep[np.arange(len(self)), drop] = False
        shape = (len(self), k)
        return scores[keep].reshape(shape), positions[keep].reshape(shape)

    def measured_recall(self, k: int = 10, queries: int = 1000, seed: int = 0) -> float:
        """Recall@k of this index's search against exact search, on up to `queries` items."""
        if self.kind == "flat":
            return 1.0
        rng = np.random.default_rng(seed)
        sample = rng.choice(len(self), size=min(queries, len(self)), replace=False)
        q = self.vectors[sample]
        exact = VectorEngine(self.vectors, "flat").search(q, k)[1]
        approx = self.engine.search(q, k)[1]
        hits = (approx[:, :, None] == exact[:, None, :]).any(axis=2).sum()
        return float(hits / exact.size)

    def save(self, folder: str | Path) -> Path:
        """Write the index to `folder` (created if needed); returns the folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / VECTORS_FILE, self.vectors, allow_pickle=False)
        items: dict[str, Any] = {"ids": self.ids}
        if self.labels is not None:
            items["labels"] = np.asarray(self.labels).astype(int).tolist()
        if self.texts is not None:
            items["texts"] = list(self.texts)
        write_json(folder / ITEMS_FILE, items, indent=None)
        faiss_path = folder / FAISS_FILE
        if self.engine.faiss_index is not None:
            faiss = faiss_or_none()
            atomic_write(faiss_path, lambda tmp: faiss.write_index(self.engine.faiss_index, tmp))
        else:
            faiss_path.unlink(missing_ok=True)  # never one left from an earlier index
        meta = {
            "format": 1,
            "kind": self.kind,
            "count": len(self),
            "dim": self.dim,
            "modality": self.modality,
            "fingerprint": self.fingerprint,
            "source": self.source,
            "engine_options": self.engine_options,
            "engine_params": self.engine.params,
            "backend": self.engine.backend,
            "faiss_file": FAISS_FILE if self.engine.faiss_index is not None else None,
            "info": self.info,
        }
        write_json(folder / META_FILE, meta)
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, use_faiss: bool | None = None) -> EmbeddingIndex:
        """Read an index folder written by `save`.

        Raises:
            ContrastkitError: not an index folder, or its files disagree.
        """
        folder = Path(folder)
        meta_path = folder / META_FILE
        if not meta_path.is_file():
            raise ContrastkitError(
                f"{folder} is not a contrastkit index (no {META_FILE}); build one with "
                "`contrastkit index`"
            )
        meta = json.loads(meta_path.read_text())
        vectors = np.load(folder / VECTORS_FILE, allow_pickle=False)
        items = json.loads((folder / ITEMS_FILE).read_text())
        if vectors.shape != (meta["count"], meta["dim"]):
            raise DataFormatError(
                f"{folder / VECTORS_FILE}: expected shape ({meta['count']}, {meta['dim']}), "
                f"got {vectors.shape}"
            )
        options = dict(meta.get("engine_options", {}))
        if use_faiss is not None:
            options["use_faiss"] = use_faiss
        prebuilt = None if use_faiss is False else _read_faiss(folder, meta)
        labels = items.get("labels")
        return cls(
            vectors=vectors,
            ids=items["ids"],
            fingerprint=meta["fingerprint"],
            source=meta.get("source", ""),
            modality=meta.get("modality", "image"),
            kind=meta["kind"],
            labels=None if labels is None else np.asarray(labels, dtype=np.int64),
            texts=items.get("texts"),
            info=meta.get("info", {}),
            engine_options=options,
            prebuilt=prebuilt,
            prebuilt_params=meta.get("engine_params", {}) if prebuilt is not None else {},
        )


def _read_faiss(folder: Path, meta: dict[str, Any]) -> Any:
    """The saved FAISS index, or None (no file, no FAISS here, or one that does not match
    the vectors: then it is rebuilt, with a warning)."""
    faiss = faiss_or_none()
    name = meta.get("faiss_file")
    if faiss is None or not name or not (folder / name).is_file():
        return None
    index = faiss.read_index(str(folder / name))
    if index.ntotal != meta["count"] or index.d != meta["dim"]:
        warnings.warn(
            f"{folder / name} holds {index.ntotal} vectors of size {index.d}, the index "
            f"{meta['count']} of size {meta['dim']}: rebuilding it in memory",
            stacklevel=3,
        )
        return None
    return index
