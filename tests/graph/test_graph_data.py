"""The graph container, the CSV reader and the Debian dumpavail parser."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contrastkit.data.debian_graph import build_debian_graph, parse_dumpavail, parse_relation
from contrastkit.data.graph import (
    Graph,
    induced_subgraph,
    read_graph_csv,
    sample_non_edges,
    split_edges,
    undirected_edges,
)
from contrastkit.errors import DataFormatError


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def csv_graph(tmp_path: Path) -> tuple[Path, Path]:
    nodes = _write(tmp_path / "nodes.csv", "id,label,f1,f2\na,x,1,0\nb,y,0,1\nc,,0.5,0.5\n")
    edges = _write(tmp_path / "edges.csv", "source,target\na,b\nb,c\nc,b\na,a\n")
    return nodes, edges


def test_read_graph_csv(csv_graph: tuple[Path, Path]) -> None:
    g = read_graph_csv(*csv_graph)
    assert g.node_ids == ["a", "b", "c"]
    assert g.label_names == ["x", "y"]
    assert g.labels.tolist() == [0, 1, -1]  # empty label cell: unlabelled
    assert g.features.dtype == torch.float32 and g.features.shape == (3, 2)
    # undirected, duplicates (b,c)/(c,b) merged, self loop dropped
    assert g.edges.tolist() == [[0, 1], [1, 2]]


def test_edge_to_missing_node_names_file_line_and_id(csv_graph: tuple[Path, Path]) -> None:
    nodes, edges = csv_graph
    _write(edges, "source,target\na,b\nb,zed\n")
    with pytest.raises(DataFormatError, match=r"edges\.csv, line 3: edge names node 'zed'"):
        read_graph_csv(nodes, edges)


def test_duplicate_node_id_is_an_error(csv_graph: tuple[Path, Path]) -> None:
    nodes, edges = csv_graph
    _write(nodes, "id,f1\na,1\nb,2\na,3\n")
    with pytest.raises(
        DataFormatError, match=r"nodes\.csv, line 4: duplicate node id 'a' .*line 2"
    ):
        read_graph_csv(nodes, edges)


def test_non_numeric_feature_and_missing_column(csv_graph: tuple[Path, Path]) -> None:
    nodes, edges = csv_graph
    _write(nodes, "id,f1\na,1\nb,oops\nc,2\n")
    with pytest.raises(
        DataFormatError, match=r"line 3, column 'f1': expected a number, got 'oops'"
    ):
        read_graph_csv(nodes, edges)
    _write(edges, "from,to\na,b\n")
    _write(nodes, "id,f1\na,1\nb,2\n")
    with pytest.raises(DataFormatError, match=r"edges\.csv, line 1: expected a column 'source'"):
        read_graph_csv(nodes, edges)


def test_text_column_gives_svd_features(tmp_path: Path) -> None:
    words = ["python module parser", "python module http", "perl module parser", "perl xml"]
    rows = "\n".join(f"n{i},{w}" for i, w in enumerate(words))
    nodes = _write(tmp_path / "n.csv", "id,text\n" + rows + "\n")
    edges = _write(tmp_path / "e.csv", "source,target\nn0,n1\n")
    g = read_graph_csv(nodes, edges, text_column="text", text_dim=2)
    assert g.features.shape == (4, 2) and g.labels is None


def _toy_graph() -> Graph:
    # a 6-cycle plus a chord 0-3
    src = torch.tensor([0, 1, 2, 3, 4, 5, 0])
    dst = torch.tensor([1, 2, 3, 4, 5, 0, 3])
    return Graph(torch.randn(6, 4), undirected_edges(src, dst), torch.arange(6) % 2)


def test_csr_has_edges_split_and_subgraph() -> None:
    g = _toy_graph()
    assert g.degrees().tolist() == [3, 2, 2, 3, 2, 2]
    assert g.has_edges(torch.tensor([0, 3, 0, -1]), torch.tensor([3, 0, 2, 1])).tolist() == [
        True,
        True,
        False,
        False,
    ]
    train, held = split_edges(g, 0.3, seed=1)
    assert train.num_edges + held.shape[1] == g.num_edges
    assert not train.has_edges(held[0], held[1]).any()
    neg = sample_non_edges(g, 5, seed=0)
    assert not g.has_edges(neg[0], neg[1]).any() and (neg[0] != neg[1]).all()
    sub = induced_subgraph(g, torch.tensor([0, 1, 3]))
    assert sub.edges.tolist() == [[0, 0], [1, 2]] and sub.labels.tolist() == [0, 1, 1]


DUMPAVAIL = """\
Package: app
Version: 1.0
Depends: libfoo1 (>= 1.2), python3:any | python3-minimal, virtual-mta
Pre-Depends: dpkg (>= 1.15)
Recommends: app-data [amd64] <!nocheck>
Description: An application
Section: contrib/utils

Package: libfoo1
Depends: libc6 (>= 2.34),
 dpkg
Section: libs
Description: foo library

Package: python3-minimal
Section: python
Description: minimal python

Package: app-data
Section: non-free/utils
Description: data for app

Package: dpkg
Section: admin
Description: package manager

Package: app
Section: games
Description: a second record of app, ignored
"""


def test_parse_relation_strips_versions_arch_and_profiles() -> None:
    assert parse_relation("libc6 (>= 2.34), python3:any | python3-minimal [amd64] <!nocheck>") == (
        ("libc6",),
        ("python3", "python3-minimal"),
    )


def test_parse_dumpavail_excerpt() -> None:
    packages = parse_dumpavail(DUMPAVAIL)
    assert [p.package for p in packages] == [
        "app",
        "libfoo1",
        "python3-minimal",
        "app-data",
        "dpkg",
    ]
    app = packages[0]
    assert app.section == "utils" and packages[3].section == "utils"  # prefixes stripped
    assert app.relations == (
        ("libfoo1",),
        ("python3", "python3-minimal"),
        ("virtual-mta",),
        ("dpkg",),
        ("app-data",),
    )
    assert packages[1].relations == (("libc6",), ("dpkg",))  # continuation line joined
    g = build_debian_graph(packages, {"app": "an app. it runs"}, top_sections=2, feature_dim=2)
    pairs = {tuple(sorted((g.node_ids[u], g.node_ids[v]))) for u, v in g.edges.t().tolist()}
    # python3 is absent: the alternative falls to python3-minimal; libc6, virtual-mta: no edge
    assert pairs == {
        ("app", "libfoo1"),
        ("app", "python3-minimal"),
        ("app", "dpkg"),
        ("app", "app-data"),
        ("dpkg", "libfoo1"),
    }
    # top 2 sections: utils (2 packages), then admin (ties of 1 broken by name)
    assert g.label_names == ["admin", "utils"]
    assert g.labels.tolist() == [1, -1, -1, 1, 0]
