"""Graphs: the Debian package graph, or node and edge CSVs (a folder holding nodes.csv and
edges.csv, or a node file with `data.edges`).

An item is a node; a view is a sampled ego subgraph packed densely, perturbed by node and
edge dropping and feature masking; by default a second view is centred on a neighbour.
`data.link_fraction` of the edges is held out of the graph training sees; labelled nodes
are split into probe-training and test nodes, and supervised methods see only the labels
of the probe-training nodes. Evaluation: link-prediction AUC on the held-out edges and a
linear probe of node labels, against the raw node features, the random-init encoder (the
run's own initial weights) and structure-aware baselines on the training graph: features
averaged over each node's neighbours (both tasks), common neighbours and Adamic-Adar (links).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from contrastkit.config import Config
from contrastkit.data.graph import Graph, read_graph_csv
from contrastkit.data.inputs import id_codes
from contrastkit.encoders.graph import GraphEncoder
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.evaluate.geometry import effective_rank
from contrastkit.evaluate.graph import (
    LINK_HEURISTICS,
    GraphTask,
    LinkHeuristic,
    make_graph_task,
    neighbour_features,
    score_node_embeddings,
)
from contrastkit.modalities.base import ItemSet, few_label_rows, method_defaults
from contrastkit.modalities.sections import GraphDataConfig, GraphModelConfig, GraphViewsConfig
from contrastkit.modalities.tensor import RawFeatures, TensorData, TensorModality
from contrastkit.train.tensor_batches import TensorBatches
from contrastkit.views.graph import EgoSampler, GraphViews, NodeViews


@dataclass
class GraphData(TensorData):
    task: GraphTask | None = None
    sampler: EgoSampler | None = None


class GraphModality(TensorModality):
    name = "graph"
    embed_chunk = None  # nodes embedded in one call, with their sampled neighbourhoods
    summary = "graphs: a folder with nodes.csv and edges.csv, or a node CSV with data.edges"
    datasets = {"debian-graph": "Debian packages (63k) and their dependencies, 20 sections"}
    data_config, model_config, views_config = GraphDataConfig, GraphModelConfig, GraphViewsConfig
    main_metric = "link_auc"

    def detect(self, path: Path) -> bool:
        return path.is_dir() and (path / "nodes.csv").is_file() and (path / "edges.csv").is_file()

    def recipe_defaults(self, tree: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": {"proj_hidden_dim": 512, "proj_dim": 128},
            "optim": {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 1e-4},
            "train": {"batch_size": 256, "precision": "fp32", "channels_last": False,
                      "monitor_every": 0},
            "method": method_defaults(tree, temperature=0.5),
        }  # fmt: skip

    def _graph(self, cfg: Config) -> Graph:
        d = cfg.data
        if d.dataset.strip().lower() in self.datasets:
            from contrastkit.data.debian_graph import load_debian_graph

            return load_debian_graph()
        nodes, edges = Path(d.dataset), d.edges
        if nodes.is_dir():
            nodes, edges = nodes / "nodes.csv", str(nodes / "edges.csv")
        if edges is None:
            raise ConfigError(f"config key 'data.edges': the node file {nodes} needs an edge CSV")
        return read_graph_csv(nodes, edges, id_column=d.id_column,
                              label_column=d.label_column, text_column=d.text_column)  # fmt: skip

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        fixed = "a graph holds out data.link_fraction of its edges and half its labelled nodes"
        self.check_test_size(cfg, count=False, fixed=fixed)

    def prepare(self, cfg: Config, run_dir: Path | None) -> GraphData:
        graph = self._graph(cfg)
        task = make_graph_task(graph, link_fraction=cfg.data.link_fraction, seed=cfg.train.seed)
        labels = graph.labels
        train_labels = labels[task.train_nodes] if labels is not None else None
        test_labels = labels[task.test_nodes] if labels is not None else None
        return GraphData(
            f"{graph.source}: {graph.num_nodes:,} nodes, {graph.num_edges:,} edges "
            f"({task.held_out.shape[1]:,} held out)", train_labels, [],
            torch.arange(graph.num_nodes), task.test_nodes, test_labels,
            graph.label_names or None, task, EgoSampler(task.train_graph, cfg.views.size,
                                                        (cfg.views.size - 1, 3)),
        )  # fmt: skip

    def build_encoder(self, cfg: Config, data: GraphData) -> GraphEncoder:
        m = cfg.model
        features = data.task.train_graph.feature_dim
        return GraphEncoder(features, m.hidden_dim, m.layers, conv=m.conv)

    def views(self, cfg: Config, data: GraphData, method) -> NodeViews:
        v = cfg.views
        perturb = GraphViews(v.drop_edge, v.mask_feature, v.drop_node, n_views=v.n_views)
        return NodeViews(data.sampler, perturb, v.neighbour_positive)

    def batches(self, cfg: Config, data: GraphData, method, device: torch.device):
        # subgraphs are sampled on the CPU, where the graph is; the trainer moves each batch
        if not (method.needs_labels or getattr(method, "use_labels", False)):
            return TensorBatches(data.train, self.views(cfg, data, method))
        # supervised: only the probe-training nodes and their labels, never a test node's
        nodes = data.task.train_nodes
        return TensorBatches(nodes, self.views(cfg, data, method), data.labels)

    def raw_features(self, items: torch.Tensor, cfg: Config, data: GraphData) -> torch.Tensor:
        return data.task.train_graph.features[items]

    def embed_input(self, cfg: Config, data: GraphData):
        return data.sampler.fixed(cfg.train.seed)

    def baselines(self, cfg: Config, data: GraphData) -> list[tuple[str, Any]]:
        """Raw features, the random-init encoder (drawn first after the caller's seed, as
        training draws it), neighbour-averaged features, common neighbours, Adamic-Adar."""
        out = super().baselines(cfg, data)
        averaged = neighbour_features(data.task.train_graph)
        out.append(("neighbour-mean features", RawFeatures(lambda ids: averaged[ids])))
        return out + list(LINK_HEURISTICS.items())

    def score(self, model: Any, cfg: Config, data: GraphData) -> dict[str, float]:
        if isinstance(model, LinkHeuristic):
            return {"link_auc": model.link_auc(data.task)}
        embed = lambda ids: self.features(model, ids, cfg, data)  # noqa: E731
        rank = effective_rank(embed(data.test)) if len(data.test) else float("nan")
        return score_node_embeddings(embed, data.task) | {"effective_rank": rank}

    def few_label_rows(self, trained: Any, cfg: Config, data: GraphData) -> list[dict]:
        if data.labels is None:
            raise ContrastkitError(f"{data.description}: few-label evaluation needs labels")
        return few_label_rows(
            trained, lambda: self.build_encoder(cfg, data), (data.task.train_nodes, data.labels),
            (data.test, data.test_labels), cfg, self.embed_input(cfg, data),
        )  # fmt: skip

    def as_items(self, cfg: Config, data: GraphData, inputs: Any, kind: str | None) -> ItemSet:
        """Node ids of the training graph (its CSV ids or package names)."""
        nodes, names = id_codes(inputs, data.task.train_graph.node_ids, "node")
        return ItemSet(nodes, names, texts=names)

    def items(self, cfg: Config, data: GraphData, split: str) -> ItemSet:
        graph = data.task.train_graph
        nodes = data.train if split == "train" else data.task.test_nodes
        labels = None if graph.labels is None else graph.labels[nodes].numpy()
        names = [graph.node_ids[i] for i in nodes.tolist()]
        return ItemSet(nodes, names, labels, data.classes, texts=names, name=f"{graph.source}")
