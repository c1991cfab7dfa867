"""Graphs for node- and graph-level contrastive learning: the `Graph` container, edge
hold-out for link prediction, induced subgraphs, and a reader for user graphs given as a
node CSV and an edge CSV.

Edges are undirected: each pair is stored once (u < v) and self loops are dropped.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from contrastkit.errors import DataFormatError, DatasetNotFoundError

__all__ = [
    "Graph",
    "induced_subgraph",
    "pack",
    "read_graph_csv",
    "sample_non_edges",
    "split_edges",
    "text_features",
    "undirected_edges",
    "unpack",
]


def undirected_edges(src: Tensor, dst: Tensor) -> Tensor:
    """(2, E) unique undirected pairs (u < v, sorted) from directed ones, self loops dropped."""
    u, v = torch.minimum(src, dst), torch.maximum(src, dst)
    keep = u != v
    pairs = torch.stack([u[keep], v[keep]]).long()
    if pairs.shape[1] == 0:
        return pairs
    return torch.unique(pairs, dim=1)


@dataclass
class Graph:
    """An undirected graph with node features and optional node labels.

    Attributes:
        features: (N, F) float32 node features.
        edges: (2, E) int64 undirected edges, each pair once with u < v, no self loops.
        labels: (N,) int64 classes in [0, C), -1 for unlabelled nodes; None without labels.
        node_ids: N names of the nodes (package names, CSV ids).
        label_names: C class names, label c is `label_names[c]`.
        source: where the graph came from (for messages and summaries).
    """

    features: Tensor
    edges: Tensor
    labels: Tensor | None = None
    node_ids: list[str] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)
    source: str = "graph"

    def __post_init__(self) -> None:
        n = self.features.shape[0]
        if self.features.dim() != 2:
            raise ValueError(f"features must be (N, F), got {tuple(self.features.shape)}")
        if self.edges.dim() != 2 or self.edges.shape[0] != 2:
            raise ValueError(f"edges must be (2, E), got {tuple(self.edges.shape)}")
        if self.edges.numel() and (int(self.edges.min()) < 0 or int(self.edges.max()) >= n):
            raise ValueError(f"edges must index nodes in [0, {n})")
        if self.labels is not None and self.labels.shape != (n,):
            raise ValueError(f"labels must be ({n},), got {tuple(self.labels.shape)}")
        if not self.node_ids:
            self.node_ids = [str(i) for i in range(n)]
        self._csr: tuple[Tensor, Tensor] | None = None
        self._keys: Tensor | None = None

    @property
    def num_nodes(self) -> int:
        return self.features.shape[0]

    @property
    def num_edges(self) -> int:
        return self.edges.shape[1]

    @property
    def feature_dim(self) -> int:
        return self.features.shape[1]

    def csr(self) -> tuple[Tensor, Tensor]:
        """Neighbour lists in compressed form: indptr (N + 1,), indices (2E,) int64."""
        if self._csr is None:
            src = torch.cat([self.edges[0], self.edges[1]])
            dst = torch.cat([self.edges[1], self.edges[0]])
            order = torch.argsort(src * self.num_nodes + dst)
            counts = torch.bincount(src, minlength=self.num_nodes)
            indptr = torch.zeros(self.num_nodes + 1, dtype=torch.long)
            indptr[1:] = torch.cumsum(counts, 0)
            self._csr = (indptr, dst[order].contiguous())
        return self._csr

    def degrees(self) -> Tensor:
        """(N,) int64 number of neighbours of each node."""
        indptr, _ = self.csr()
        return indptr[1:] - indptr[:-1]

    def has_edges(self, u: Tensor, v: Tensor) -> Tensor:
        """Bool tensor of u's shape: is (u, v) an edge? Entries < 0 give False."""
        if self._keys is None:
            indptr, indices = self.csr()
            src = torch.repeat_interleave(torch.arange(self.num_nodes), indptr[1:] - indptr[:-1])
            self._keys = (src * self.num_nodes + indices).contiguous()  # sorted by construction
        valid = (u >= 0) & (v >= 0)
        query = torch.where(valid, u * self.num_nodes + v, torch.zeros_like(u))
        if self._keys.numel() == 0:
            return torch.zeros_like(valid)
        pos = torch.searchsorted(self._keys, query).clamp(max=self._keys.numel() - 1)
        return valid & (self._keys[pos] == query)

    def with_edges(self, edges: Tensor) -> Graph:
        """The same nodes with another edge set (2, E')."""
        return Graph(
            self.features, edges, self.labels, self.node_ids, self.label_names, self.source
        )


def induced_subgraph(graph: Graph, nodes: Tensor) -> Graph:
    """The subgraph on `nodes` (M,) int64 (renumbered 0..M-1 in the given order)."""
    new_id = torch.full((graph.num_nodes,), -1, dtype=torch.long)
    new_id[nodes] = torch.arange(len(nodes))
    u, v = new_id[graph.edges[0]], new_id[graph.edges[1]]
    keep = (u >= 0) & (v >= 0)
    return Graph(
        graph.features[nodes],
        undirected_edges(u[keep], v[keep]),
        None if graph.labels is None else graph.labels[nodes],
        [graph.node_ids[i] for i in nodes.tolist()],
        graph.label_names,
        f"{graph.source} (subgraph of {len(nodes)} nodes)",
    )


def split_edges(graph: Graph, fraction: float = 0.05, seed: int = 0) -> tuple[Graph, Tensor]:
    """Hold out a random `fraction` of the edges for link prediction.

    Returns:
        (the graph without the held-out edges, held-out edges (2, M) int64).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    perm = torch.randperm(graph.num_edges, generator=torch.Generator().manual_seed(seed))
    n_out = max(1, round(fraction * graph.num_edges))
    held, kept = perm[:n_out], perm[n_out:].sort().values
    return graph.with_edges(graph.edges[:, kept]), graph.edges[:, held]


def sample_non_edges(
    graph: Graph, count: int, seed: int = 0, avoid: Tensor | None = None
) -> Tensor:
    """(2, count) random node pairs u != v that are not edges of `graph` nor in `avoid` (2, M)."""
    g = torch.Generator().manual_seed(seed)
    banned = graph if avoid is None else graph.with_edges(torch.cat([graph.edges, avoid], 1))
    out: list[Tensor] = []
    have = 0
    while have < count:
        pairs = torch.randint(graph.num_nodes, (2, 2 * (count - have) + 16), generator=g)
        ok = (pairs[0] != pairs[1]) & ~banned.has_edges(pairs[0], pairs[1])
        out.append(pairs[:, ok])
        have += int(ok.sum())
    return torch.cat(out, 1)[:, :count]


def text_features(texts: list[str], dim: int = 128, seed: int = 0) -> Tensor:
    """(N, dim) float32 features of texts: TF-IDF (sublinear, English stop words; from 100
    texts on, words in at least 2 of them) reduced by truncated SVD, rows L2-normalised.
    A corpus too small for the SVD gives its TF-IDF matrix padded with zero columns."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        stop_words="english",
        min_df=2 if len(texts) >= 100 else 1,
        max_features=100_000,
        dtype=np.float32,
    )
    try:
        tfidf = vectorizer.fit_transform(texts)
    except ValueError as e:  # empty vocabulary
        raise DataFormatError(f"no usable words in the {len(texts)} texts: {e}") from None
    if dim >= min(tfidf.shape):
        x = np.zeros((len(texts), dim), dtype=np.float32)
        dense = tfidf.toarray()[:, :dim]
        x[:, : dense.shape[1]] = dense
    else:
        x = TruncatedSVD(dim, random_state=seed).fit_transform(tfidf).astype(np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
    return torch.from_numpy(x)


def _read_rows(path: Path, required: list[str]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DataFormatError(f"{path}: the file is empty; expected a header row")
        header = [h.strip() for h in header]
        for name in required:
            if name not in header:
                raise DataFormatError(f"{path}, line 1: expected a column {name!r}, got {header}")
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DataFormatError(
                    f"{path}, line {reader.line_num}: expected {len(header)} fields, got {len(row)}"
                )
            rows.append((reader.line_num, row))
    return header, rows


def read_graph_csv(
    nodes_path: str | Path,
    edges_path: str | Path,
    *,
    id_column: str = "id",
    label_column: str | None = "label",
    text_column: str | None = None,
    source_column: str = "source",
    target_column: str = "target",
    text_dim: int = 128,
) -> Graph:
    """Read a graph from a node CSV and an edge CSV (both with a header row).

    The node file has an id column, an optional label column (an empty cell means
    unlabelled) and either a text column (turned into TF-IDF + SVD features) or numeric
    feature columns (every other column). The edge file has source and target columns
    naming node ids; edges are taken as undirected.

    Raises:
        DatasetNotFoundError: a file is missing.
        DataFormatError: a column is missing, a feature is not a number, a node id repeats,
            or an edge names a node that is not in the node file (message names the file,
            the line and the id).
    """
    nodes_path, edges_path = Path(nodes_path), Path(edges_path)
    header, rows = _read_rows(nodes_path, [id_column])
    if label_column is not None and label_column not in header:
        label_column = None
    if text_column is not None and text_column not in header:
        raise DataFormatError(f"{nodes_path}, line 1: expected a column {text_column!r}")
    if not rows:
        raise DataFormatError(f"{nodes_path}: expected at least one node row, got none")
    col = {name: i for i, name in enumerate(header)}
    feature_cols = [h for h in header if h not in (id_column, label_column, text_column)]
    if text_column is None and not feature_cols:
        raise DataFormatError(
            f"{nodes_path}, line 1: expected feature columns or a text column, got {header}"
        )

    index: dict[str, int] = {}
    first_line: dict[str, int] = {}
    raw_labels, texts, values = [], [], []
    for line, row in rows:
        node = row[col[id_column]].strip()
        if node in index:
            raise DataFormatError(
                f"{nodes_path}, line {line}: duplicate node id {node!r} "
                f"(first on line {first_line[node]})"
            )
        index[node], first_line[node] = len(index), line
        if label_column is not None:
            raw_labels.append(row[col[label_column]].strip())
        if text_column is not None:
            texts.append(row[col[text_column]])
        else:
            try:
                values.append([float(row[col[c]]) for c in feature_cols])
            except ValueError:
                bad = next(c for c in feature_cols if not _is_number(row[col[c]]))
                raise DataFormatError(
                    f"{nodes_path}, line {line}, column {bad!r}: expected a number, "
                    f"got {row[col[bad]]!r}"
                ) from None

    e_header, edge_rows = _read_rows(edges_path, [source_column, target_column])
    s_col, t_col = e_header.index(source_column), e_header.index(target_column)
    src, dst = [], []
    for line, row in edge_rows:
        for name in (row[s_col].strip(), row[t_col].strip()):
            if name not in index:
                raise DataFormatError(
                    f"{edges_path}, line {line}: edge names node {name!r}, "
                    f"which is not in {nodes_path}"
                )
        src.append(index[row[s_col].strip()])
        dst.append(index[row[t_col].strip()])

    features = text_features(texts, text_dim) if text_column is not None else torch.tensor(values)
    labels, label_names = None, []
    if label_column is not None:
        label_names = sorted({v for v in raw_labels if v})
        lookup = {name: i for i, name in enumerate(label_names)}
        labels = torch.tensor([lookup.get(v, -1) for v in raw_labels], dtype=torch.long)
    return Graph(
        features.float(),
        undirected_edges(torch.tensor(src, dtype=torch.long), torch.tensor(dst, dtype=torch.long)),
        labels,
        list(index),
        label_names,
        f"{nodes_path} + {edges_path}",
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# Packed batches of small graphs: what graph views make and graph encoders read.
def pack(features: Tensor, adjacency: Tensor, mask: Tensor) -> Tensor:
    """(B, K, F + K + 1) from features (B, K, F), adjacency (B, K, K) and mask (B, K)."""
    return torch.cat(
        [features, adjacency.to(features.dtype), mask.to(features.dtype)[..., None]], -1
    )


def unpack(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Features (B, K, F), adjacency (B, K, K) and present mask (B, K) of a packed batch."""
    k = x.shape[-2]
    f = x.shape[-1] - k - 1
    if f < 0:
        raise ValueError(f"a packed graph batch is (B, K, F + K + 1), got {tuple(x.shape)}")
    return x[..., :f], x[..., f : f + k], x[..., -1]
