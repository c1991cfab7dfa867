"""The graph adapter: the Debian package graph, user CSVs, and label-using methods that see
only the labels of the probe-training nodes (never a test node's)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contrastkit.data.graph import Graph, induced_subgraph
from contrastkit.methods.params import construct
from contrastkit.modalities.graph import GraphModality
from contrastkit.pipeline.settings import load_config
from tests.modalities.helpers import train_and_evaluate


@pytest.fixture(scope="module")
def debian() -> Graph:
    from contrastkit.data.debian_graph import load_debian_graph

    return load_debian_graph()


def write_graph_folder(folder: Path, graph: Graph, labels: list[str] | None = None) -> Path:
    """nodes.csv (id, label, 8 numeric features) and edges.csv of a real graph."""
    folder.mkdir(parents=True, exist_ok=True)
    names = labels or [graph.label_names[int(y)] for y in graph.labels]
    rows = ["id,label," + ",".join(f"f{j}" for j in range(8))]
    rows += [
        f"{node},{name}," + ",".join(f"{v:.4f}" for v in feats[:8].tolist())
        for node, name, feats in zip(graph.node_ids, names, graph.features, strict=True)
    ]
    (folder / "nodes.csv").write_text("\n".join(rows) + "\n")
    edges = [f"{graph.node_ids[u]},{graph.node_ids[v]}" for u, v in graph.edges.t().tolist()]
    (folder / "edges.csv").write_text("source,target\n" + "\n".join(edges) + "\n")
    return folder


@pytest.fixture(scope="module")
def small(debian: Graph) -> Graph:
    """Every 40th labelled package with the dependencies among them (a real subgraph)."""
    return induced_subgraph(debian, torch.nonzero(debian.labels >= 0).flatten()[::40])


def test_debian_graph_is_real(debian: Graph) -> None:
    assert debian.num_nodes > 30_000 and debian.num_edges > 100_000
    assert len(debian.label_names) == 20 and "python" in debian.label_names
    assert debian.features.shape[1] == 128 and torch.isfinite(debian.features).all()
    i = debian.node_ids.index("python3")
    start, stop = debian.csr()[0][i], debian.csr()[0][i + 1]
    assert "python3-minimal" in {debian.node_ids[j] for j in debian.csr()[1][start:stop]}


@pytest.mark.parametrize("method", ["supcon", "triplet"])
def test_label_using_methods_train_on_probe_training_nodes_only(small, tmp_path, method) -> None:
    """The bug this guards: supervised graph training used the labels of the test nodes."""
    folder = write_graph_folder(tmp_path / "g", small)
    extra = {"method.use_labels": True} if method == "triplet" else {}
    cfg = load_config(None, {"data.dataset": str(folder), "method.name": method,
                             "train.steps": 1, **extra})  # fmt: skip
    adapter = GraphModality()
    data = adapter.prepare(cfg, None)
    task = data.task
    trained = construct(method, adapter.build_encoder(cfg, data), cfg.method.params)
    source = adapter.batches(cfg, data, trained, torch.device("cpu"))
    seen = set(source.items.tolist())
    assert seen == set(task.train_nodes.tolist())
    assert not seen & set(task.test_nodes.tolist())
    assert torch.equal(source.labels, small.labels[task.train_nodes])
    batch = source.batch(torch.arange(8), torch.Generator().manual_seed(0))
    assert torch.equal(batch.labels, small.labels[task.train_nodes[:8]])


@pytest.mark.slow
def test_supcon_on_random_labels_stays_at_chance_on_test_nodes(small, tmp_path) -> None:
    """With labels that carry no signal, a method that never sees test labels cannot beat
    chance on the test nodes (it scored 0.70 of 2 classes when it trained on them)."""
    g = torch.Generator().manual_seed(0)
    names = ["a" if x else "b" for x in (torch.rand(small.num_nodes, generator=g) < 0.5)]
    folder = write_graph_folder(tmp_path / "g", small, names)
    _, scores = train_and_evaluate(
        tmp_path / "run", data__dataset=str(folder), method__name="supcon", train__steps=200,
        train__batch_size=64, model__hidden_dim=64,
    )  # fmt: skip
    assert scores[("contrastkit supcon", "node_accuracy")] < 0.6, scores


def test_random_init_row_is_the_runs_own_start(small, tmp_path, monkeypatch) -> None:
    """The random-init encoder scored by `evaluate` holds the weights training started from
    (captured when the run built its method, before step 1)."""
    from contrastkit.pipeline import train_run
    from contrastkit.pipeline.evaluate_run import evaluate

    start: dict[str, torch.Tensor] = {}
    build = train_run.build_method

    def capture(*args, **kwargs):
        method = build(*args, **kwargs)
        start.update({k: v.clone() for k, v in method.encoder.state_dict().items()})
        return method

    monkeypatch.setattr(train_run, "build_method", capture)
    folder = write_graph_folder(tmp_path / "g", small)
    run = tmp_path / "run"
    cfg = load_config(None, {"data.dataset": str(folder), "train.steps": 3, "train.seed": 3,
                             "train.batch_size": 32, "train.run_dir": str(run)})  # fmt: skip
    torch.manual_seed(123)  # whatever ran before, the run draws its own start
    train_run.train(cfg, progress=False)
    scored: list[object] = []
    score = GraphModality.score

    def record(self, model, cfg, data):
        scored.append(model)
        return score(self, model, cfg, data)

    monkeypatch.setattr(GraphModality, "score", record)
    torch.manual_seed(456)
    rows = evaluate(run)
    systems = list(dict.fromkeys(r["system"] for r in rows))
    models = dict(zip(systems, scored, strict=True))
    initial = models["random-init encoder"].state_dict()
    assert initial.keys() == start.keys()
    for k, v in start.items():
        torch.testing.assert_close(initial[k].cpu(), v, rtol=0, atol=0, msg=k)
    trained = models[systems[0]].state_dict()
    assert any(not torch.equal(trained[k].cpu(), v) for k, v in start.items())


def test_structure_aware_baselines_are_scored_beside_the_encoder(debian, tmp_path) -> None:
    # every 5th labelled package: ~300 held-out edges (``small`` holds out 3, where an AUC
    # is 0, 1/9, ... and the heuristics fall below 0.5 by chance)
    denser = induced_subgraph(debian, torch.nonzero(debian.labels >= 0).flatten()[::5])
    folder = write_graph_folder(tmp_path / "g", denser)
    cfg = load_config(None, {"data.dataset": str(folder), "train.steps": 1})
    adapter = GraphModality()
    data = adapter.prepare(cfg, None)
    scores = {name: adapter.score(m, cfg, data) for name, m in adapter.baselines(cfg, data)}
    both = scores["neighbour-mean features"]
    assert {"link_auc", "node_accuracy"} <= both.keys()
    assert scores["common neighbours"].keys() == scores["Adamic-Adar"].keys() == {"link_auc"}
    for name in ("neighbour-mean features", "common neighbours", "Adamic-Adar"):
        # 0.64-0.79 on seeds 0-2 (317 held-out edges, standard error ~0.02)
        assert 0.55 < scores[name]["link_auc"] <= 1.0, (name, scores[name])
