"""With 2 gloo processes, gathered losses equal the single-process loss on the whole batch.

Each rank holds half the rows. Its loss is the mean over its own anchors, so the mean of
the ranks' losses is the global loss; the gradient-aware gather gives each rank
world_size x the global gradient of its rows, which DDP's averaging turns back into the
global gradient.
"""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses import info_nce, nt_xent
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD = 2
N_PER_RANK = 6


def _inputs(n_views: int, n_neg: int) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    g = torch.Generator().manual_seed(1234)
    views = [torch.randn(WORLD * N_PER_RANK, 8, generator=g) for _ in range(n_views)]
    negatives = torch.randn(n_neg, 8, generator=g) if n_neg else None
    return views, negatives


def _loss(kind: str, views, negatives, gather: bool) -> torch.Tensor:
    # "_tiled" cases: the gathered loss in 5 x 5 similarity blocks; the reference is plain
    tile = 5 if kind.endswith("_tiled") and gather else 0
    kind = kind.removesuffix("_tiled")
    if kind == "nt_xent":
        return nt_xent(*views, temperature=0.2, negatives=negatives, gather=gather, tile=tile)
    symmetric = kind == "info_nce_symmetric"
    return info_nce(
        views[0],
        views[1],
        temperature=0.2,
        negatives=negatives,
        symmetric=symmetric,
        gather=gather,
        tile=tile,
    )


CASES = [
    ("nt_xent", 2, 0),
    ("nt_xent", 3, 0),
    ("nt_xent", 2, 4),
    ("info_nce", 2, 0),
    ("info_nce", 2, 4),
    ("info_nce_symmetric", 2, 0),
    ("nt_xent_tiled", 2, 4),
    ("nt_xent_tiled", 3, 0),
    ("info_nce_symmetric_tiled", 2, 0),
]


def _rank_fn(rank: int, world: int) -> dict:
    out = {}
    for kind, n_views, n_neg in CASES:
        views, negatives = _inputs(n_views, n_neg)
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        local = [v[rows].clone().requires_grad_() for v in views]
        loss = _loss(kind, local, negatives, gather=True)
        loss.backward()
        out[(kind, n_views, n_neg)] = {"loss": loss.detach(), "grads": [v.grad for v in local]}
    return out


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory):
    """All cases computed in one pair of processes (spawning costs seconds)."""
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("gather"))


@pytest.mark.parametrize(("kind", "n_views", "n_neg"), CASES)
def test_gathered_loss_equals_single_process(rank_results, kind, n_views, n_neg):
    views, negatives = _inputs(n_views, n_neg)
    full = [v.clone().requires_grad_() for v in views]
    loss = _loss(kind, full, negatives, gather=False)
    loss.backward()

    results = [r[(kind, n_views, n_neg)] for r in rank_results]
    mean_loss = sum(r["loss"] for r in results) / WORLD
    torch.testing.assert_close(mean_loss, loss.detach(), rtol=1e-5, atol=1e-6)
    for rank, r in enumerate(results):
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        for g_rank, v in zip(r["grads"], full, strict=True):
            torch.testing.assert_close(g_rank / WORLD, v.grad[rows], rtol=1e-4, atol=1e-7)
