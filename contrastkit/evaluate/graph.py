"""Evaluation of node embeddings: node classification by linear probe and link prediction.

Link prediction follows the usual protocol: a share of the edges is held out of the graph
the encoder trains on; held-out edges are scored against random non-edges by the cosine
similarity of their end points' embeddings, and the score is the ROC AUC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.data.graph import Graph, sample_non_edges, split_edges
from contrastkit.evaluate.linear import linear_probe

__all__ = ["GraphTask", "link_auc", "make_graph_task", "score_node_embeddings"]

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


def link_auc(embed: Embed, positives: Tensor, negatives: Tensor) -> float:
    """ROC AUC of cosine similarity, held-out edges (2, M) against non-edges (2, M').

    Args:
        embed: node ids (n,) -> embeddings (n, D).
    """
    from sklearn.metrics import roc_auc_score

    pairs = torch.cat([positives, negatives], 1)
    nodes, inverse = torch.unique(pairs, return_inverse=True)
    z = F.normalize(embed(nodes).float(), dim=1)
    scores = (z[inverse[0]] * z[inverse[1]]).sum(1)
    truth = torch.cat([torch.ones(positives.shape[1]), torch.zeros(negatives.shape[1])])
    return float(roc_auc_score(truth.numpy(), scores.numpy()))


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
