"""With 2 gloo processes, the gathered hard-negative NT-Xent equals the single-process loss.

Each rank holds half the rows and scores them against the gathered rows of both ranks, so
M = 2 * (global N) - 2 as on one process. The mean of the ranks' losses is the global loss;
each rank's rows receive world_size x their global gradient (the `nt_xent` convention).
"""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses.hard_negative import hard_negative_nt_xent
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD = 2
N_PER_RANK = 5

CASES = [  # (temperature, beta, tau_plus)
    (0.2, 0.0, 0.0),
    (0.2, 1.0, 0.0),
    (0.5, 1.0, 0.1),
    (0.1, 2.0, 0.3),
]


def _inputs() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(4321)
    z_a = torch.randn(WORLD * N_PER_RANK, 8, generator=g)
    return [z_a, z_a + 0.7 * torch.randn(WORLD * N_PER_RANK, 8, generator=g)]


def _loss(views, temperature, beta, tau_plus, gather: bool) -> torch.Tensor:
    return hard_negative_nt_xent(
        *views, temperature=temperature, beta=beta, tau_plus=tau_plus, gather=gather
    )


def _rank_fn(rank: int, world: int) -> dict:
    out = {}
    rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
    for case in CASES:
        local = [v[rows].clone().requires_grad_() for v in _inputs()]
        loss = _loss(local, *case, gather=True)
        loss.backward()
        out[case] = {"loss": loss.detach(), "grads": [v.grad for v in local]}
    return out


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory):
    """All cases computed in one pair of processes (spawning costs seconds)."""
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("hard_negative"))


@pytest.mark.parametrize("case", CASES)
def test_gathered_loss_equals_single_process(rank_results, case):
    full = [v.clone().requires_grad_() for v in _inputs()]
    loss = _loss(full, *case, gather=False)
    loss.backward()

    results = [r[case] for r in rank_results]
    mean_loss = sum(r["loss"] for r in results) / WORLD
    torch.testing.assert_close(mean_loss, loss.detach(), rtol=1e-5, atol=1e-6)
    for rank, r in enumerate(results):
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        for g_rank, v in zip(r["grads"], full, strict=True):
            torch.testing.assert_close(g_rank / WORLD, v.grad[rows], rtol=1e-4, atol=1e-7)
