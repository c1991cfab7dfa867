"""Structure-aware graph baselines against hand computations on a six-node graph."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.data.graph import Graph, undirected_edges
from contrastkit.evaluate.graph import (
    LINK_HEURISTICS,
    GraphTask,
    adamic_adar,
    common_neighbours,
    neighbour_features,
)


@pytest.fixture
def hand() -> Graph:
    """Edges 0-1, 0-2, 1-2, 1-3, 2-3, 3-4; node 5 alone. Degrees 2, 3, 3, 3, 1, 0."""
    pairs = torch.tensor([[0, 0, 1, 1, 2, 3], [1, 2, 2, 3, 3, 4]])
    x = torch.tensor([[1.0], [2.0], [4.0], [8.0], [16.0], [32.0]])
    return Graph(x, undirected_edges(pairs[0], pairs[1]))


def test_neighbour_features_are_own_features_beside_the_neighbour_mean(hand: Graph) -> None:
    # 0: (2+4)/2; 1: (1+4+8)/3; 2: (1+2+8)/3; 3: (2+4+16)/3; 4: 8; 5: no neighbour -> 0
    expected = torch.tensor([3.0, 13 / 3, 11 / 3, 22 / 3, 8.0, 0.0])
    out = neighbour_features(hand)
    assert out.shape == (6, 2)
    torch.testing.assert_close(out[:, 0], hand.features[:, 0])
    torch.testing.assert_close(out[:, 1], expected)


def test_common_neighbours_and_adamic_adar_by_hand(hand: Graph) -> None:
    pairs = torch.tensor([[0, 2, 0, 1, 4], [3, 4, 4, 2, 5]])
    # shared: (0,3) {1,2}; (2,4) {3}; (0,4) none; (1,2) {0,3}; (4,5) none
    torch.testing.assert_close(
        common_neighbours(hand, pairs), torch.tensor([2.0, 1, 0, 2, 0], dtype=torch.float64)
    )
    ln2, ln3 = math.log(2), math.log(3)
    aa = torch.tensor([2 / ln3, 1 / ln3, 0.0, 1 / ln2 + 1 / ln3, 0.0], dtype=torch.float64)
    torch.testing.assert_close(adamic_adar(hand, pairs), aa)


def test_link_heuristics_score_held_out_edges_against_non_edges(hand: Graph) -> None:
    empty = torch.zeros(0, dtype=torch.long)
    held_out = torch.tensor([[0, 2], [3, 4]])  # common neighbours 2 and 1
    task = GraphTask(hand, held_out, torch.tensor([[0, 1], [4, 5]]), empty, empty)  # 0 and 0
    assert LINK_HEURISTICS["common neighbours"].link_auc(task) == 1.0
    task.non_edges = torch.tensor([[0, 1], [4, 4]])  # (0,4): 0; (1,4): shared {3} -> 1
    # positives 2, 1 against negatives 0, 1: 3 wins and 1 tie of 4 pairs
    assert LINK_HEURISTICS["common neighbours"].link_auc(task) == pytest.approx(3.5 / 4)
    # Adamic-Adar: positives 2/ln3, 1/ln3 against 0, 1/ln3: the same order
    assert LINK_HEURISTICS["Adamic-Adar"].link_auc(task) == pytest.approx(3.5 / 4)
