"""Nearest-neighbour search on unit vectors: FAISS when installed, exact torch otherwise.

Vectors are L2-normalised on the way in, so the inner product is the cosine similarity
and every score lies in [-1, 1]. Three kinds:

- "flat": exact search (FAISS IndexFlatIP, or a chunked torch matmul without FAISS).
- "ivf": FAISS IndexIVFFlat, `nlist` k-means cells (default about 4 * sqrt(N)), `nprobe`
  cells visited per query (default 16). Approximate; needs faiss-cpu.
- "hnsw": FAISS IndexHNSWFlat, `m` links per node (default 32), `ef_search` (default 64).
  Approximate; needs faiss-cpu.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from contrastkit.errors import ConfigError

KINDS = ("flat", "ivf", "hnsw")
ADD_CHUNK = 8192  # vectors added to a FAISS index per call (progress granularity)


def faiss_or_none() -> Any:
    """The faiss module, or None when faiss-cpu is not installed."""
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def normalize(vectors: np.ndarray | torch.Tensor) -> np.ndarray:
    """(N, D) -> (N, D) contiguous float32 rows of unit length (zero rows stay zero)."""
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if x.ndim != 2:
        raise ConfigError(f"vectors must be a 2-D (N, D) array, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12))


def build_faiss_index(
    faiss: Any,
    vectors: np.ndarray,
    kind: str,
    *,
    nlist: int | None = None,
    m: int = 32,
    seed: int = 0,
    progress: bool = False,
) -> Any:
    """A new FAISS index of `kind` over (N, D) unit vectors, added `ADD_CHUNK` rows at a
    time (with a progress bar when `progress`)."""
    from tqdm.auto import tqdm

    n, dim = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    else:
        nlist = nlist or max(1, min(n // 39, int(4 * math.sqrt(n))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(vectors)
    with tqdm(total=n, unit="item", desc=f"index ({kind})", disable=not progress) as bar:
        for start in range(0, n, ADD_CHUNK):
            index.add(vectors[start : start + ADD_CHUNK])
            bar.update(min(ADD_CHUNK, n - start))
    return index


class VectorEngine:
    """Top-k inner-product search over (N, D) unit vectors.

    Args:
        vectors: (N, D) float32, already normalised (see `normalize`).
        kind: "flat", "ivf" or "hnsw".
        use_faiss: None picks FAISS when installed; False forces the torch exact search.
        nlist: IVF cells.
        nprobe: IVF cells probed per query.
        m: HNSW links per node.
        ef_search: HNSW search breadth.
        prebuilt: a FAISS index over exactly `vectors` (read from disk), used instead of
            building one.
        progress: show a progress bar while vectors are added.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        kind: str = "flat",
        *,
        use_faiss: bool | None = None,
        nlist: int | None = None,
        nprobe: int = 16,
        m: int = 32,
        ef_search: int = 64,
        seed: int = 0,
        prebuilt: Any = None,
        progress: bool = False,
    ) -> None:
        if kind not in KINDS:
            raise ConfigError(f"index kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if len(vectors) == 0:
            raise ConfigError("cannot build an index over zero vectors")
        self.vectors = vectors
        self.kind = kind
        faiss = faiss_or_none() if use_faiss is not False else None
        if use_faiss and faiss is None:
            raise ConfigError(
                "use_faiss=True but faiss is not installed: pip install 'contrastkit[apps]'"
            )
        if faiss is None and kind != "flat":
            raise ConfigError(
                f"a {kind!r} index needs FAISS, which is not installed: "
                "pip install 'contrastkit[apps]' "
                "(or use the exact 'flat' index)"
            )
        self.backend = "faiss" if faiss is not None else "torch"
        self.params: dict[str, int] = {}
        self._index = None
        if faiss is None:
            return
        index = prebuilt
        if index is None:
            index = build_faiss_index(
                faiss, vectors, kind, nlist=nlist, m=m, seed=seed, progress=progress
            )
        if kind == "hnsw":
            index.hnsw.efSearch = ef_search
            self.params = {"m": m, "ef_search": ef_search}
        elif kind == "ivf":
            index.nprobe = min(nprobe, index.nlist)
            self.params = {"nlist": index.nlist, "nprobe": index.nprobe}
        self._index = index

    @property
    def faiss_index(self) -> Any:
        """The FAISS index searched (None on the torch backend), for `faiss.write_index`."""
        return self._index

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, D) unit queries -> (scores (Q, k) float32, positions (Q, k) int64), best first.

        k is capped at N. Approximate indexes may return position -1 with score -inf where
        they found fewer than k neighbours.
        """
        k = min(int(k), len(self.vectors))
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.vectors.shape[1]:
            raise ConfigError(
                f"queries must have shape (Q, {self.vectors.shape[1]}), got {queries.shape}"
            )
        if self._index is not None:
            scores, positions = self._index.search(queries, k)
            scores = np.where(positions < 0, -np.inf, scores).astype(np.float32)
            return scores, positions.astype(np.int64)
        return exact_search(self.vectors, queries, k)


def exact_search(
    vectors: np.ndarray, queries: np.ndarray, k: int, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k inner products with torch, `chunk` queries at a time.

    (N, D) bank, (Q, D) queries -> (scores (Q, k), positions (Q, k)).
    """
    bank = torch.from_numpy(vectors)
    scores, positions = [], []
    for start in range(0, len(queries), chunk):
        sims = torch.from_numpy(queries[start : start + chunk]) @ bank.T
        s, p = sims.topk(k, dim=1)
        scores.append(s)
        positions.append(p)
    return torch.cat(scores).numpy(), torch.cat(positions).numpy().astype(np.int64)
