"""With 2 gloo processes, supcon_loss, dcl_loss and sinkhorn with gather=True equal the
single-process result on the whole batch.

Each rank holds half the rows. For the losses, the mean of the ranks' losses is the global
loss and each rank's input gradient is world_size x the global gradient of its rows (the
gradient-aware gather; DDP's averaging turns it back). For Sinkhorn, each rank's codes are
its rows of the codes of the concatenated scores.
"""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses.dcl import dcl_loss
from contrastkit.losses.supcon import supcon_loss
from contrastkit.losses.swav import sinkhorn
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD = 2
N_PER_RANK = 6

# Some labels only meet their positives on the other rank; with one view, label 9 and 8
# are singletons on rank 0 (no positive anywhere), so the anchor counts differ (4 and 6).
LABELS = torch.tensor([0, 1, 2, 0, 9, 8, 1, 4, 2, 4, 3, 3])

LOSS_CASES = [
    ("supcon", 1, None),
    ("supcon", 2, None),
    ("supcon", 3, None),
    ("dcl", 2, None),
    ("dcl", 2, 0.5),
]
SINKHORN_ITERATIONS = [1, 3, 50]


def _views(n_views: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(4321)
    return [torch.randn(WORLD * N_PER_RANK, 8, generator=g) for _ in range(n_views)]


def _scores() -> torch.Tensor:
    g = torch.Generator().manual_seed(99)
    z = torch.nn.functional.normalize(torch.randn(WORLD * N_PER_RANK, 8, generator=g), dim=1)
    c = torch.nn.functional.normalize(torch.randn(5, 8, generator=g), dim=1)
    return z @ c.T


def _loss(kind: str, views, labels, weight_sigma, gather: bool) -> torch.Tensor:
    if kind == "supcon":
        return supcon_loss(*views, labels=labels, temperature=0.2, gather=gather)
    return dcl_loss(*views, temperature=0.2, weight_sigma=weight_sigma, gather=gather)


def _rank_fn(rank: int, world: int) -> dict:
    rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
    out = {}
    for kind, n_views, weight_sigma in LOSS_CASES:
        local = [v[rows].clone().requires_grad_() for v in _views(n_views)]
        loss = _loss(kind, local, LABELS[rows], weight_sigma, gather=True)
        loss.backward()
        out[(kind, n_views, weight_sigma)] = {
            "loss": loss.detach(),
            "grads": [v.grad for v in local],
        }
    for iterations in SINKHORN_ITERATIONS:
        out[("sinkhorn", iterations)] = sinkhorn(
            _scores()[rows], epsilon=0.05, iterations=iterations, gather=True
        )
    return out


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory):
    """All cases computed in one pair of processes (spawning costs seconds)."""
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("gather"))


@pytest.mark.parametrize(("kind", "n_views", "weight_sigma"), LOSS_CASES)
def test_gathered_loss_equals_single_process(rank_results, kind, n_views, weight_sigma):
    full = [v.clone().requires_grad_() for v in _views(n_views)]
    loss = _loss(kind, full, LABELS, weight_sigma, gather=False)
    loss.backward()

    results = [r[(kind, n_views, weight_sigma)] for r in rank_results]
    mean_loss = sum(r["loss"] for r in results) / WORLD
    torch.testing.assert_close(mean_loss, loss.detach(), rtol=1e-5, atol=1e-6)
    for rank, r in enumerate(results):
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        for g_rank, v in zip(r["grads"], full, strict=True):
            torch.testing.assert_close(g_rank / WORLD, v.grad[rows], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("iterations", SINKHORN_ITERATIONS)
def test_gathered_sinkhorn_equals_single_process(rank_results, iterations):
    codes = sinkhorn(_scores(), epsilon=0.05, iterations=iterations)
    for rank, r in enumerate(rank_results):
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        torch.testing.assert_close(r[("sinkhorn", iterations)], codes[rows], rtol=1e-5, atol=1e-6)
