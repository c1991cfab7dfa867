"""Embedding maths for the report: a 2-D projection and cosine nearest neighbours.

Both are pure functions of numpy arrays; which items get embedded is decided in
`contrastkit.report.material`.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import torch

from contrastkit.errors import ContrastkitError

PROJECTIONS = ("auto", "tsne", "umap", "pca")


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def resolve_projection(method: str) -> str:
    """ "auto" -> "umap" when umap-learn is installed, else "tsne"; others checked and kept.

    Raises:
        ContrastkitError: an unknown name, or "umap" without umap-learn installed.
    """
    if method not in PROJECTIONS:
        raise ContrastkitError(
            f"--projection {method!r} is not known; choose one of {', '.join(PROJECTIONS)}"
        )
    has_umap = importlib.util.find_spec("umap") is not None
    if method == "auto":
        return "umap" if has_umap else "tsne"
    if method == "umap" and not has_umap:
        raise ContrastkitError("--projection umap needs umap-learn: pip install umap-learn")
    return method


def project_2d(vectors: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """Project embeddings to 2-D for a map, on the unit sphere (cosine geometry).

    t-SNE runs on the first 50 principal components (faster, and the neighbour structure
    it keeps is in the leading components); perplexity is lowered for small samples.

    Args:
        vectors: (N, D) embeddings.
        method: "auto" (UMAP if umap-learn is installed, else t-SNE), "tsne", "umap" or "pca".
        seed: random state of the projection.

    Returns:
        (N, 2) coordinates and the display name of the projection used.

    Raises:
        ContrastkitError: an unknown method, or "umap" without umap-learn.

    Example:
        >>> xy, name = project_2d(np.random.rand(100, 16), "pca")
        >>> xy.shape, name
        ((100, 2), 'PCA')
    """
    from sklearn.decomposition import PCA

    method = resolve_projection(method)
    x = unit_rows(vectors)
    n = len(x)
    if n < 3:
        return np.zeros((n, 2), dtype=np.float32), "none (fewer than 3 points)"
    if method == "pca" or n < 10:
        return PCA(n_components=2, random_state=seed).fit_transform(x), "PCA"
    if method == "umap":
        import umap

        reducer = umap.UMAP(n_neighbors=min(15, n - 1), metric="cosine", random_state=seed)
        return np.asarray(reducer.fit_transform(x)), "UMAP"
    from sklearn.manifold import TSNE

    dims = min(50, x.shape[1], n)
    if x.shape[1] > dims:
        x = PCA(n_components=dims, random_state=seed).fit_transform(x)
    tsne = TSNE(
        n_components=2,
        perplexity=float(min(30.0, (n - 1) / 3)),
        init="pca",
        learning_rate="auto",
        random_state=seed,
    )
    return tsne.fit_transform(x), "t-SNE"


def cosine_top_k(
    queries: np.ndarray,
    bank: np.ndarray,
    k: int,
    *,
    query_ids: list[str] | None = None,
    bank_ids: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k most cosine-similar bank rows of every query, most similar first.

    Args:
        queries: (Q, D) query embeddings.
        bank: (M, D) embeddings searched.
        k: neighbours per query (at most M, or M - 1 when a query is in the bank).
        query_ids: Q item ids; with `bank_ids`, a bank row with the query's own id is
            skipped (a query never finds itself).
        bank_ids: M item ids.

    Returns:
        (Q, k') bank positions and (Q, k') cosine similarities, k' = min(k, available).

    Example:
        >>> bank = np.eye(3, dtype=np.float32)
        >>> cosine_top_k(bank[:1], bank, 2)[0][0, 0]
        0
    """
    q = torch.from_numpy(unit_rows(queries))
    b = torch.from_numpy(unit_rows(bank))
    sims = q @ b.T
    available = b.shape[0]
    if query_ids is not None and bank_ids is not None:
        where = {item: j for j, item in enumerate(bank_ids)}
        for i, item in enumerate(query_ids):
            if item in where:
                sims[i, where[item]] = -torch.inf
                available = min(available, b.shape[0] - 1)
    k = max(0, min(k, available))
    values, index = sims.topk(k, dim=1)
    return index.numpy(), values.numpy()


def pick_queries(labels: np.ndarray | None, n: int, count: int, seed: int = 0) -> list[int]:
    """Positions of `count` query items among `n`: one per class first, for variety.

    Args:
        labels: (n,) labels, or None.
        n: items to choose from.
        count: queries wanted (fewer when n is smaller).
        seed: the random order the items are visited in.

    Returns:
        Positions in [0, n), distinct.
    """
    order = np.random.default_rng(seed).permutation(n).tolist()
    if labels is None:
        return order[:count]
    chosen, seen = [], set()
    for pos in order:
        label = int(labels[pos])
        if label not in seen:
            seen.add(label)
            chosen.append(pos)
        if len(chosen) == count:
            return sorted(chosen, key=lambda p: int(labels[p]))
    taken = set(chosen)
    rest = [pos for pos in order if pos not in taken]
    return chosen + rest[: count - len(chosen)]
