"""Evaluation of node embeddings: node classification by linear probe and link prediction,
and the structure-aware baselines an encoder of the graph must beat.

Link prediction follows the usual protocol: a share of the edges is held out of the graph
the encoder trains on; held-out edges are scored against random non-edges by the cosine
similarity of their end points' embeddings, and the score is the ROC AUC. Structure-aware
baselines use the training graph only: node features averaged over the neighbours (beside
the node's own, as in GraphSAGE's mean aggregator [1]) for both tasks, and the classic
link predictors common neighbours and Adamic-Adar [2] scored on the same pairs.

[1] Hamilton, Ying, Leskovec, "Inductive Representation Learning on Large Graphs", NeurIPS
    2017. [2] Liben-Nowell, Kleinberg, "The Link-Prediction Problem for Social Networks",
    JASIST 2007 (Adamic-Adar: Adamic and Adar, Social Networks 2003).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.data.graph import Graph, sample_non_edges, split_edges
from contrastkit.evaluate.linear import linear_probe

__all__ = [
    "LINK_HEURISTICS",
    "GraphTask",
    "LinkHeuristic",
    "adamic_adar",
    "common_neighbours",
    "link_auc",
    "make_graph_task",
    "neighbour_features",
    "score_node_embeddings",
]

Embed = Callable[[Tensor], Tensor]


@dataclass
class GraphTask:
    """The splits of one evaluation.

    Attributes:
        train_graph: the graph without the held-out edges (train encoders on it).
        held_out: (2, M) held-out edges (positives of link prediction).
        non_edges: (2, M) random node pairs that are not edges (negatives).
        train_nodes, test_nodes: labelled node ids for the linear probe; empty without labels.
    """

    train_graph: Graph
    held_out: Tensor
    non_edges: Tensor
    train_nodes: Tensor
    test_nodes: Tensor


def make_graph_task(
    graph: Graph,
    *,
    link_fraction: float = 0.05,
    max_links: int = 3000,
    train_nodes: int = 4000,
    test_nodes: int = 4000,
    seed: int = 0,
) -> GraphTask:
    """Hold out edges and pick labelled train / test nodes (disjoint, random).

    Args:
        link_fraction: share of edges removed from the training graph.
        max_links: held-out edges (and as many non-edges) scored, at most.
        train_nodes, test_nodes: labelled nodes for the probe, at most (half each when
            fewer labelled nodes exist).
    """
    train_graph, held = split_edges(graph, link_fraction, seed)
    held = held[:, :max_links]
    non_edges = sample_non_edges(graph, held.shape[1], seed + 1)
    labelled = (
        torch.nonzero(graph.labels >= 0).flatten()
        if graph.labels is not None
        else torch.zeros(0, dtype=torch.long)
    )
    labelled = labelled[
        torch.randperm(len(labelled), generator=torch.Generator().manual_seed(seed))
    ]
    n_train = min(train_nodes, len(labelled) // 2)
    n_test = min(test_nodes, len(labelled) - n_train)
    return GraphTask(
        train_graph,
        held,
        non_edges,
        labelled[:n_train].sort().values,
        labelled[n_train : n_train + n_test].sort().values,
    )


def _auc(positive: Tensor, negative: Tensor) -> float:
    """ROC AUC of scores of positives (M,) against negatives (M',); ties count one half."""
    from sklearn.metrics import roc_auc_score

    truth = torch.cat([torch.ones(len(positive)), torch.zeros(len(negative))])
    return float(roc_auc_score(truth.numpy(), torch.cat([positive, negative]).double().numpy()))


def link_auc(embed: Embed, positives: Tensor, negatives: Tensor) -> float:
    """ROC AUC of cosine similarity, held-out edges (2, M) against non-edges (2, M').

    Args:
        embed: node ids (n,) -> embeddings (n, D).
    """
    pairs = torch.cat([positives, negatives], 1)
    nodes, inverse = torch.unique(pairs, return_inverse=True)
    z = F.normalize(embed(nodes).float(), dim=1)
    scores = (z[inverse[0]] * z[inverse[1]]).sum(1)
    m = positives.shape[1]
    return _auc(scores[:m], scores[m:])


def neighbour_features(graph: Graph) -> Tensor:
    """(N, 2F) each node's features beside the mean of its neighbours' (zeros when it has
    none): [x_i, mean_{j in N(i)} x_j], the mean aggregator of GraphSAGE without weights."""
    src = torch.cat([graph.edges[0], graph.edges[1]])
    dst = torch.cat([graph.edges[1], graph.edges[0]])
    x = graph.features.float()
    sums = torch.zeros_like(x).index_add_(0, src, x[dst])
    mean = sums / graph.degrees().clamp(min=1).to(x.dtype)[:, None]
    return torch.cat([x, mean], 1)


def _adjacency(graph: Graph, weights: Tensor | None = None):
    """The symmetric (N, N) scipy CSR adjacency; column j scaled by weights[j] if given."""
    from scipy.sparse import csr_matrix

    indptr, indices = graph.csr()
    values = np.ones(indices.shape[0]) if weights is None else weights[indices].double().numpy()
    n = graph.num_nodes
    return csr_matrix((values, indices.numpy(), indptr.numpy()), shape=(n, n))


def _pair_sums(graph: Graph, pairs: Tensor, weights: Tensor | None) -> Tensor:
    """(M,) sum over the common neighbours w of each pair (2, M) of weights[w] (or 1)."""
    plain, weighted = _adjacency(graph), _adjacency(graph, weights)
    u, v = pairs[0].numpy(), pairs[1].numpy()
    sums = plain[u].multiply(weighted[v]).sum(axis=1)
    return torch.from_numpy(np.asarray(sums, dtype=np.float64).reshape(-1))


def common_neighbours(graph: Graph, pairs: Tensor) -> Tensor:
    """(M,) float64 number of neighbours the two nodes of each pair (2, M) share."""
    return _pair_sums(graph, pairs, None)


def adamic_adar(graph: Graph, pairs: Tensor) -> Tensor:
    """(M,) float64 Adamic-Adar score of each pair (2, M): sum over shared neighbours w of
    1 / log(degree(w)) (a shared neighbour has degree >= 2, so the log is > 0)."""
    degree = graph.degrees().double()
    return _pair_sums(graph, pairs, 1.0 / torch.log(degree.clamp(min=2)))


@dataclass(frozen=True)
class LinkHeuristic:
    """A link predictor from the graph's structure alone (a baseline row, link AUC only).

    Attributes:
        score: (graph, pairs (2, M)) -> (M,) scores, higher for likelier edges.
    """

    score: Callable[[Graph, Tensor], Tensor]

    def link_auc(self, task: GraphTask) -> float:
        """ROC AUC of held-out edges against non-edges, scored on the training graph."""
        graph = task.train_graph
        return _auc(self.score(graph, task.held_out), self.score(graph, task.non_edges))


LINK_HEURISTICS = {
    "common neighbours": LinkHeuristic(common_neighbours),
    "Adamic-Adar": LinkHeuristic(adamic_adar),
}


def score_node_embeddings(embed: Embed, task: GraphTask) -> dict[str, float]:
    """Linear-probe accuracy and macro F1 on the task's labelled nodes, and link AUC."""
    out = {"link_auc": link_auc(embed, task.held_out, task.non_edges)}
    labels = task.train_graph.labels
    if labels is not None and len(task.train_nodes) and len(task.test_nodes):
        report = linear_probe(
            embed(task.train_nodes).float(),
            labels[task.train_nodes],
            embed(task.test_nodes).float(),
            labels[task.test_nodes],
            num_classes=len(task.train_graph.label_names) or None,
        )
        out["node_accuracy"] = report.accuracy
        out["node_macro_f1"] = report.macro_f1
    return out
