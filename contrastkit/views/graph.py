"""Graph views as dense tensors: ego-subgraph sampling and GraphCL / GRACE perturbations.

A (sub)graph of at most K nodes is packed as one float tensor (K, F + K + 1): per node
its F features, its row of the 0/1 adjacency matrix among the K slots, and a present flag
(0 for padding). Node-level items put the centre node in slot 0. Packed batches
(B, K, F + K + 1) concatenate with torch.cat like image batches, so every tensor-view
method trains on them unchanged.

Views [1, 2]: subgraph sampling (a fresh random ego-net per view), edge dropping, feature
masking (the same feature columns in every node of a view, as GRACE), node dropping (never
the centre). All randomness comes from a torch.Generator; no Python loop over samples.

[1] You et al., "Graph Contrastive Learning with Augmentations", NeurIPS 2020.
[2] Zhu et al., "Deep Graph Contrastive Representation Learning" (GRACE), 2020.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.data.graph import Graph, pack, unpack

__all__ = [
    "EgoSampler",
    "GraphViews",
    "NodeViews",
    "drop_edges",
    "drop_nodes",
    "mask_features",
    "pack",
    "unpack",
]


def drop_edges(x: Tensor, p: float, generator: torch.Generator) -> Tensor:
    """Remove each edge with probability p, independently per sample, keeping symmetry.

    Args:
        x: (B, K, F + K + 1) packed graphs. Returns the same shape and dtype.
    """
    if p <= 0:
        return x
    feats, adj, mask = unpack(x)
    b, k = adj.shape[:2]
    r = torch.rand(b, k, k, generator=generator, device=x.device).triu(1)
    r = r + r.transpose(1, 2)
    return pack(feats, adj * (r >= p).to(adj.dtype), mask)


def mask_features(x: Tensor, p: float, generator: torch.Generator) -> Tensor:
    """Zero each feature column with probability p (the same columns for all nodes of a
    sample, different per sample). (B, K, F + K + 1) -> same shape and dtype."""
    if p <= 0:
        return x
    feats, adj, mask = unpack(x)
    keep = torch.rand(feats.shape[0], 1, feats.shape[2], generator=generator, device=x.device)
    return pack(feats * (keep >= p).to(feats.dtype), adj, mask)


def drop_nodes(x: Tensor, p: float, generator: torch.Generator, keep_centre: bool = True) -> Tensor:
    """Drop each node (features, edges, present flag) with probability p; the node in slot 0
    survives when `keep_centre`. (B, K, F + K + 1) -> same shape and dtype."""
    if p <= 0:
        return x
    feats, adj, mask = unpack(x)
    keep = torch.rand(mask.shape, generator=generator, device=x.device) >= p
    if keep_centre:
        keep[:, 0] = True
    keep = keep.to(x.dtype) * mask
    return pack(feats * keep[..., None], adj * keep[:, :, None] * keep[:, None, :], keep)


class EgoSampler:
    """Sample ego-subgraphs of a `Graph` around centre nodes and pack them.

    The centre fills slot 0; its neighbours come next, then neighbours of neighbours, each
    hop in random order, duplicates removed, cut at `size` nodes. A node with at most
    `fanout[0]` (resp. `fanout[1]`) neighbours gives all of them; a larger one gives that
    many drawn at random (with replacement, so a few may repeat and be merged).

    Args:
        graph: the graph (its CSR form is built once).
        size: K, slots per subgraph (centre included).
        fanout: neighbours drawn per node at hop 1 and hop 2.
    """

    def __init__(self, graph: Graph, size: int = 24, fanout: tuple[int, int] = (23, 3)) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        if len(fanout) != 2 or min(fanout) < 0:
            raise ValueError(f"fanout must be two counts >= 0, got {fanout}")
        self.graph, self.size, self.fanout = graph, size, tuple(fanout)
        self.indptr, self.indices = graph.csr()
        self.degree = self.indptr[1:] - self.indptr[:-1]

    @property
    def packed_dim(self) -> int:
        """F + K + 1, the last dimension of packed batches."""
        return self.graph.feature_dim + self.size + 1

    def neighbours(
        self, nodes: Tensor, count: int, generator: torch.Generator, shuffle: bool = False
    ) -> Tensor:
        """(M, count) neighbours of nodes (M,), -1 where none.

        A node with at most `count` neighbours gives all of them (in a random draw with
        replacement when `shuffle`); a larger one gives `count` drawn with replacement.
        """
        valid = nodes >= 0
        safe = nodes.clamp(min=0)
        deg = torch.where(valid, self.degree[safe], torch.zeros_like(safe))
        slot = torch.arange(count).expand(len(nodes), count)
        r = torch.rand(len(nodes), count, generator=generator)
        drawn = (r * deg[:, None]).long()
        if shuffle:
            pick, ok = drawn, (deg > 0)[:, None].expand(-1, count)
        else:
            pick = torch.where((deg <= count)[:, None], slot, drawn)
            ok = slot < deg[:, None]
        if self.indices.numel() == 0:
            return torch.full((len(nodes), count), -1, dtype=torch.long)
        where = (self.indptr[safe][:, None] + pick).clamp(max=self.indices.numel() - 1)
        found = self.indices[where]
        return torch.where(ok, found, torch.full_like(found, -1))

    def sample(self, centres: Tensor, generator: torch.Generator) -> Tensor:
        """(B, K) int64 node ids of ego-subgraphs around centres (B,), -1 for empty slots."""
        centres = centres.reshape(-1).long().cpu()
        b = len(centres)
        hop1 = self.neighbours(centres, self.fanout[0], generator)
        hop2 = self.neighbours(hop1.reshape(-1), self.fanout[1], generator).reshape(b, -1)
        cand = torch.cat([centres[:, None], hop1, hop2], 1)
        rank = torch.cat(
            [
                torch.zeros(b, 1),
                1 + torch.rand(hop1.shape, generator=generator),
                2 + torch.rand(hop2.shape, generator=generator),
            ],
            1,
        )
        rank = torch.where(cand >= 0, rank, torch.full_like(rank, float("inf")))
        order = rank.argsort(dim=1)
        cand = cand.gather(1, order)
        # duplicates: a stable sort by id keeps the best-ranked copy first
        vals, perm = cand.sort(dim=1, stable=True)
        dup_sorted = torch.zeros_like(vals, dtype=torch.bool)
        dup_sorted[:, 1:] = vals[:, 1:] == vals[:, :-1]
        dup = torch.zeros_like(dup_sorted).scatter(1, perm, dup_sorted)
        keep = (cand >= 0) & ~dup
        pos = keep.long().cumsum(1) - 1
        keep &= pos < self.size
        out = torch.full((b, self.size + 1), -1, dtype=torch.long)
        out.scatter_(1, torch.where(keep, pos, torch.full_like(pos, self.size)), cand)
        return out[:, : self.size].contiguous()

    def pack_nodes(self, nodes: Tensor) -> Tensor:
        """(B, K, F + K + 1) float32 packed subgraphs on the node ids (B, K) (-1 = empty)."""
        present = nodes >= 0
        safe = nodes.clamp(min=0)
        feats = self.graph.features[safe] * present[..., None]
        adj = self.graph.has_edges(nodes[:, :, None].expand(-1, -1, nodes.shape[1]),
                                   nodes[:, None, :].expand(-1, nodes.shape[1], -1))  # fmt: skip
        return pack(feats.float(), adj.float(), present.float())

    def __call__(self, centres: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Packed random ego-subgraphs (B, K, F + K + 1) around centres (B,) or (B, 1)."""
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        return self.pack_nodes(self.sample(centres, g))

    def fixed(self, seed: int = 0):
        """`prepare` for evaluation: node ids -> packed ego-nets drawn with a fixed seed."""

        def prepare(centres: Tensor) -> Tensor:
            return self(centres, torch.Generator().manual_seed(seed))

        return prepare


@dataclass
class GraphViews:
    """Perturbations of packed graphs (B, K, F + K + 1): node dropping, edge dropping,
    feature masking, in that order. Graph-level items use this directly.

    Args:
        drop_edge: probability of removing each edge (GRACE: 0.2-0.4).
        mask_feature: probability of zeroing each feature column (GRACE: 0.1-0.3).
        drop_node: probability of dropping each non-centre node (GraphCL: 0.1-0.2).
        n_views: views per item.
    """

    drop_edge: float = 0.2
    mask_feature: float = 0.2
    drop_node: float = 0.1
    n_views: int = 2

    def __post_init__(self) -> None:
        for name in ("drop_edge", "mask_feature", "drop_node"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")

    def augment(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """One perturbed view of packed graphs x (B, K, F + K + 1)."""
        x = drop_nodes(x, self.drop_node, generator)
        x = drop_edges(x, self.drop_edge, generator)
        return mask_features(x, self.mask_feature, generator)

    def __call__(self, x: Tensor, generator: torch.Generator) -> list[Tensor]:
        return [self.augment(x, generator) for _ in range(self.n_views)]


class NodeViews:
    """Views of nodes: each view is a freshly sampled ego-subgraph, then perturbed.

    `NodeViews(sampler)(ids, generator)` takes node ids (B,) (the items of a
    `TensorBatches`) and returns `n_views` packed tensors (B, K, F + K + 1).

    Args:
        sampler: draws the ego-subgraphs.
        perturb: perturbations applied to each view.
        neighbour_positive: probability that a view after the first is centred on a random
            neighbour of the node instead of the node itself (neighbours as positives, as
            in the unsupervised GraphSAGE loss [1]); 0 gives GRACE-style same-node views.

    [1] Hamilton et al., "Inductive Representation Learning on Large Graphs", NeurIPS 2017.
    """

    def __init__(
        self,
        sampler: EgoSampler,
        perturb: GraphViews | None = None,
        neighbour_positive: float = 0.0,
    ) -> None:
        if not 0.0 <= neighbour_positive <= 1.0:
            raise ValueError(f"neighbour_positive must be in [0, 1], got {neighbour_positive}")
        self.sampler = sampler
        self.perturb = perturb if perturb is not None else GraphViews()
        self.neighbour_positive = neighbour_positive

    def _centres(self, ids: Tensor, generator: torch.Generator) -> Tensor:
        if self.neighbour_positive <= 0:
            return ids
        nbr = self.sampler.neighbours(ids, 1, generator, shuffle=True)[:, 0]
        move = torch.rand(len(ids), generator=generator) < self.neighbour_positive
        return torch.where(move & (nbr >= 0), nbr, ids)

    def __call__(self, ids: Tensor, generator: torch.Generator) -> list[Tensor]:
        device = ids.device
        ids = ids.reshape(-1).long().cpu()
        centres = [ids] + [self._centres(ids, generator) for _ in range(self.perturb.n_views - 1)]
        return [
            self.perturb.augment(self.sampler(c, generator), generator).to(device) for c in centres
        ]
