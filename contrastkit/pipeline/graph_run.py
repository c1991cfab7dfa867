"""Train a graph encoder with any tensor-view method and evaluate it on nodes and links.

The steps behind `contrastkit train-graph` and `benchmarks/modality_graph.py`: load the
graph (the Debian package graph or user CSVs), hold out edges, train on the rest with
ego-subgraph views, then score the raw features, the random-init encoder and the trained
encoder by a linear probe on node labels and by link-prediction AUC, plus the
semi-supervised comparison (fine-tuned pre-trained encoder vs the same one from scratch).
"""

from __future__ import annotations

import copy
import inspect
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from contrastkit.data.graph import Graph, read_graph_csv
from contrastkit.encoders.graph import GraphEncoder
from contrastkit.errors import ConfigError
from contrastkit.evaluate.geometry import effective_rank, normalized_std
from contrastkit.evaluate.graph import GraphTask, make_graph_task, score_node_embeddings
from contrastkit.evaluate.semi_supervised import embed_tensors, semi_supervised_eval
from contrastkit.methods import METHODS, Method
from contrastkit.train.fit_result import FitResult
from contrastkit.train.tensor_batches import TensorBatches
from contrastkit.train.trainer import Trainer
from contrastkit.views.graph import EgoSampler, GraphViews, NodeViews

__all__ = ["GraphSettings", "evaluate_graph", "load_graph", "run_graph", "train_graph"]


@dataclass
class GraphSettings:
    """Every knob of a graph run (defaults tuned on the Debian package graph).

    Attributes:
        size: K, nodes per ego-subgraph; fanout: neighbours drawn at hops 1 and 2.
        hidden_dim, layers, conv: the `GraphEncoder` (output_dim = hidden_dim * layers).
        batch_size, lr: AdamW training (warmup-cosine schedule of the Trainer).
        temperature: for methods that take one.
        drop_edge, mask_feature, drop_node, neighbour_positive: the views.
        proj_hidden_dim, proj_dim: the method's heads.
    """

    size: int = 16
    fanout: tuple[int, int] = (15, 3)
    hidden_dim: int = 256
    layers: int = 2
    conv: str = "gcn"
    batch_size: int = 256
    lr: float = 2e-3
    temperature: float = 0.5
    drop_edge: float = 0.3
    mask_feature: float = 0.4
    drop_node: float = 0.1
    neighbour_positive: float = 1.0
    proj_hidden_dim: int = 512
    proj_dim: int = 128


def load_graph(data: str = "debian", edges: str | None = None, **csv_options: Any) -> Graph:
    """ "debian" (the package graph of this machine's apt lists), or a node CSV path with
    `edges` the edge CSV path (options go to `read_graph_csv`)."""
    if data == "debian":
        from contrastkit.data.debian_graph import load_debian_graph

        return load_debian_graph()
    if edges is None:
        raise ConfigError(f"a node file {data!r} needs --edges EDGES.csv as well")
    return read_graph_csv(data, edges, **csv_options)


def make_encoder(graph: Graph, s: GraphSettings) -> GraphEncoder:
    return GraphEncoder(graph.feature_dim, s.hidden_dim, s.layers, conv=s.conv)  # type: ignore[arg-type]


def build_method(name: str, encoder: torch.nn.Module, s: GraphSettings) -> Method:
    """METHODS[name] around `encoder`, heads sized by the settings."""
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    cls = METHODS[name]
    kwargs: dict[str, Any] = {"proj_hidden_dim": s.proj_hidden_dim, "proj_dim": s.proj_dim}
    if "temperature" in inspect.signature(cls.__init__).parameters:
        kwargs["temperature"] = s.temperature
    return cls(encoder, **kwargs)


def train_graph(
    graph: Graph,
    method_name: str = "simclr",
    *,
    settings: GraphSettings | None = None,
    steps: int | None = None,
    max_time: float | None = None,
    seed: int = 0,
    run_dir: str | Path | None = None,
    progress: bool = False,
) -> tuple[Method, FitResult]:
    """Train `method_name` on node views of `graph` (labelled nodes only for supervised
    methods). Returns the method (its `.encoder` is the graph encoder) and the fit result."""
    s = settings or GraphSettings()
    torch.manual_seed(seed)
    method = build_method(method_name, make_encoder(graph, s), s)
    sampler = EgoSampler(graph, s.size, s.fanout)
    views = NodeViews(
        sampler, GraphViews(s.drop_edge, s.mask_feature, s.drop_node), s.neighbour_positive
    )
    items, labels = torch.arange(graph.num_nodes), graph.labels
    if method.needs_labels or getattr(method, "use_labels", False):
        if labels is None or not (labels >= 0).any():
            raise ConfigError(f"method {method_name!r} needs node labels; the graph has none")
        items = torch.nonzero(labels >= 0).flatten()
        labels = labels[items]
        views = _Relabel(views, items)
        items = torch.arange(len(items))
    trainer = Trainer(
        method,
        optimizer="adamw",
        lr=s.lr,
        weight_decay=1e-4,
        batch_size=min(s.batch_size, len(items)),
        steps=steps,
        max_time=max_time,
        precision="fp32",
        seed=seed,
        run_dir=run_dir,
        progress=progress,
        log_every=10,
    )
    result = trainer.fit(TensorBatches(items, views, labels))
    return method.eval(), result


class _Relabel:
    """Views over a subset of nodes: item i is node `nodes[i]`."""

    def __init__(self, views: NodeViews, nodes: torch.Tensor) -> None:
        self.views, self.nodes = views, nodes

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
        return self.views(self.nodes[x], generator)


def evaluate_graph(
    encoder: torch.nn.Module,
    task: GraphTask,
    settings: GraphSettings | None = None,
    *,
    fractions: tuple[float, ...] = (0.1, 0.01),
    finetune_steps: int = 200,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Rows {"system", "metric", "value"} for raw features, random-init and trained encoders
    (node accuracy / macro F1, link AUC, collapse indicators of the trained embeddings) and
    semi-supervised rows (linear probe, pre-trained + fine-tune, scratch) per label share."""
    s = settings or GraphSettings()
    graph = task.train_graph
    sampler = EgoSampler(graph, s.size, s.fanout)
    prepare = sampler.fixed(seed)

    def embedder(enc: torch.nn.Module):
        return lambda ids: embed_tensors(enc, ids, prepare=prepare)

    torch.manual_seed(seed + 1)
    random_init = make_encoder(graph, s)
    rows: list[dict[str, Any]] = []
    for system, embed in (
        ("raw features", lambda ids: graph.features[ids]),
        ("random-init encoder", embedder(random_init)),
        ("contrastive encoder", embedder(encoder)),
    ):
        for metric, value in score_node_embeddings(embed, task).items():
            rows.append({"system": system, "metric": metric, "value": value})
    sample = torch.randperm(graph.num_nodes, generator=torch.Generator().manual_seed(seed))[:2000]
    z = embedder(encoder)(sample)
    rows.append({"system": "contrastive encoder", "metric": "effective_rank",
                 "value": effective_rank(z)})  # fmt: skip
    rows.append({"system": "contrastive encoder", "metric": "embedding_std",
                 "value": normalized_std(z)})  # fmt: skip
    if graph.labels is not None and len(task.train_nodes) and len(task.test_nodes) and fractions:

        def make_scratch() -> torch.nn.Module:
            return make_encoder(graph, s)

        semi = semi_supervised_eval(
            copy.deepcopy(encoder),
            make_scratch,
            (task.train_nodes, graph.labels[task.train_nodes]),
            (task.test_nodes, graph.labels[task.test_nodes]),
            fractions=fractions,
            steps=finetune_steps,
            prepare=prepare,
            augment=GraphViews(s.drop_edge, s.mask_feature, s.drop_node).augment,
            seed=seed,
        )
        names = {"fine-tune": "pre-trained + fine-tune"}
        for r in semi:
            rows.append({
                "system": names.get(r["protocol"], r["protocol"]),
                "metric": f"node_accuracy@{r['fraction']:g} labels ({r['labels']})",
                "value": r["accuracy"],
            })  # fmt: skip
    return rows


def run_graph(
    data: str = "debian",
    edges: str | None = None,
    *,
    method: str = "simclr",
    steps: int | None = None,
    max_time: float | None = None,
    settings: GraphSettings | None = None,
    output: str | Path | None = None,
    fractions: tuple[float, ...] = (0.1, 0.01),
    finetune_steps: int = 200,
    seed: int = 0,
    progress: bool = False,
    **csv_options: Any,
) -> dict[str, Any]:
    """Load, split, train, evaluate; write `summary.json` (and the encoder) into `output`."""
    s = settings or GraphSettings()
    graph = load_graph(data, edges, **csv_options)
    task = make_graph_task(graph, seed=seed)
    trained, fit = train_graph(
        task.train_graph, method, settings=s, steps=steps, max_time=max_time, seed=seed,
        run_dir=output, progress=progress,
    )  # fmt: skip
    rows = evaluate_graph(
        trained.encoder, task, s, fractions=fractions, finetune_steps=finetune_steps, seed=seed
    )
    losses = [h["loss"] for h in fit.history if "loss" in h]
    summary = {
        "data": graph.source,
        "nodes": graph.num_nodes,
        "edges": graph.num_edges,
        "held_out_edges": int(task.held_out.shape[1]),
        "classes": graph.label_names,
        "method": method,
        "settings": asdict(s),
        "steps": fit.steps,
        "train_seconds": fit.train_seconds,
        "first_loss": losses[0] if losses else None,
        "final_loss": fit.final_loss,
        "results": rows,
    }
    if output is not None:
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
