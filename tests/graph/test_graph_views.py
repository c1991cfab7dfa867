"""Ego-subgraph sampling, packing and GraphCL / GRACE perturbations."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data.graph import Graph, undirected_edges
from contrastkit.views.graph import (
    EgoSampler,
    GraphViews,
    NodeViews,
    drop_edges,
    drop_nodes,
    mask_features,
    pack,
    unpack,
)


def _random_graph(n: int = 60, m: int = 200, f: int = 6, seed: int = 0) -> Graph:
    g = torch.Generator().manual_seed(seed)
    src, dst = torch.randint(n, (2, m), generator=g)
    return Graph(torch.randn(n, f, generator=g), undirected_edges(src, dst))


def _packed(seed: int = 0) -> torch.Tensor:
    graph = _random_graph(seed=seed)
    return EgoSampler(graph, size=10, fanout=(9, 3))(torch.arange(16), torch.Generator())


def test_pack_unpack_round_trip() -> None:
    feats, adj, mask = torch.randn(3, 5, 4), torch.ones(3, 5, 5), torch.ones(3, 5)
    f2, a2, m2 = unpack(pack(feats, adj, mask))
    assert torch.equal(f2, feats) and torch.equal(a2, adj) and torch.equal(m2, mask)


def test_ego_sampler_packs_real_subgraphs() -> None:
    graph = _random_graph()
    sampler = EgoSampler(graph, size=10, fanout=(9, 3))
    ids = sampler.sample(torch.arange(graph.num_nodes), torch.Generator().manual_seed(0))
    assert ids.shape == (graph.num_nodes, 10)
    assert torch.equal(ids[:, 0], torch.arange(graph.num_nodes))  # centre in slot 0
    for row in ids:  # no repeated node, padding only at the end
        present = row[row >= 0]
        assert len(present.unique()) == len(present)
        assert (row[len(present) :] == -1).all()
    # every neighbour of a low-degree centre is in its ego-net (all taken when few)
    indptr, indices = graph.csr()
    for c in range(graph.num_nodes):
        nbrs = indices[indptr[c] : indptr[c + 1]]
        if len(nbrs) <= 9:
            assert set(nbrs.tolist()) <= set(ids[c].tolist())
    x = sampler.pack_nodes(ids)
    feats, adj, mask = unpack(x)
    assert x.shape == (graph.num_nodes, 10, 6 + 10 + 1) and x.dtype == torch.float32
    assert torch.equal(adj, adj.transpose(1, 2))
    b, i, j = torch.nonzero(adj, as_tuple=True)
    assert graph.has_edges(ids[b, i], ids[b, j]).all()
    assert torch.equal(feats[mask > 0], graph.features[ids[ids >= 0]])


@pytest.mark.parametrize(
    "view",
    [
        lambda x, g: drop_edges(x, 0.5, g),
        lambda x, g: mask_features(x, 0.5, g),
        lambda x, g: drop_nodes(x, 0.5, g),
        lambda x, g: GraphViews()(x, g)[0],
    ],
    ids=["drop_edges", "mask_features", "drop_nodes", "graph_views"],
)
def test_perturbations_keep_shape_dtype_differ_and_repeat(view) -> None:
    x = _packed()
    x = torch.cat([x[:1].expand(16, -1, -1)])  # the same graph 16 times
    a = view(x, torch.Generator().manual_seed(3))
    b = view(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)  # repeat under a seed
    assert not all(torch.equal(a[0], a[i]) for i in range(1, 16))  # differ per sample
    assert not torch.equal(a, view(x, torch.Generator().manual_seed(4)))


def test_drop_edges_removes_only_existing_edges_symmetrically() -> None:
    x = _packed()
    _, adj, _ = unpack(x)
    dropped = unpack(drop_edges(x, 0.5, torch.Generator().manual_seed(0)))[1]
    assert torch.equal(dropped, dropped.transpose(1, 2))
    assert (dropped <= adj).all()  # never adds an edge
    assert 0.3 < dropped.sum() / adj.sum() < 0.7
    assert torch.equal(unpack(drop_edges(x, 0.5, torch.Generator()))[0], unpack(x)[0])


def test_drop_nodes_keeps_centre_and_clears_rows() -> None:
    x = _packed()
    feats, adj, mask = unpack(drop_nodes(x, 0.9, torch.Generator().manual_seed(0)))
    assert (mask[:, 0] == 1).all()
    gone = mask == 0
    assert (feats[gone] == 0).all() and (adj[gone] == 0).all()
    assert (adj.transpose(1, 2)[gone] == 0).all()


def test_node_views_sample_fresh_ego_nets() -> None:
    graph = _random_graph()
    views = NodeViews(EgoSampler(graph, size=8, fanout=(7, 3)), GraphViews(0.0, 0.0, 0.0))
    ids = torch.arange(20)
    v1, v2 = views(ids, torch.Generator().manual_seed(0))
    w1, _ = views(ids, torch.Generator().manual_seed(0))
    assert v1.shape == (20, 8, 6 + 8 + 1) and torch.equal(v1, w1)
    assert torch.equal(unpack(v1)[0][:, 0], graph.features[ids])  # centre first
    assert not torch.equal(v1, v2)  # two independent samples of the neighbourhood
