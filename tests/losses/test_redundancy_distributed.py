"""Barlow Twins and VICReg with gather=True in 2 gloo processes equal one process on the batch.

Each rank holds half the rows. Barlow Twins computes the global loss on every rank;
VICReg computes its variance and covariance terms on the global batch and, as the official
code does, its invariance on the rank's own rows. Either way the mean of the ranks'
losses is the global loss, and the gradient-aware gather gives each rank world_size x the
global gradient of its rows, which DDP's averaging turns back into the global gradient.
"""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses.barlow_twins import barlow_twins_loss
from contrastkit.losses.vicreg import vicreg_loss
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD = 2
N_PER_RANK = 6
DIM = 8

CASES = [
    ("barlow_twins", (5e-3,)),
    ("barlow_twins", (0.5,)),
    ("vicreg", (25.0, 25.0, 1.0)),
    ("vicreg", (1.0, 3.0, 0.5)),
]


def _inputs() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(4321)
    # Scale 0.7: some features' std falls below 1, so VICReg's variance hinge is active.
    return [torch.randn(WORLD * N_PER_RANK, DIM, generator=g) * 0.7 + 0.3 for _ in range(2)]


def _terms(kind: str, params: tuple, z1, z2, gather: bool) -> dict[str, torch.Tensor]:
    if kind == "barlow_twins":
        return {"loss": barlow_twins_loss(z1, z2, lambda_=params[0], gather=gather)}
    sim, var, cov = params
    terms = vicreg_loss(z1, z2, sim_weight=sim, var_weight=var, cov_weight=cov, gather=gather)
    return terms._asdict()


def _rank_fn(rank: int, world: int) -> dict:
    out = {}
    rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
    for kind, params in CASES:
        local = [z[rows].clone().requires_grad_() for z in _inputs()]
        terms = _terms(kind, params, *local, gather=True)
        terms["loss"].backward()
        out[(kind, params)] = {
            "terms": {name: t.detach() for name, t in terms.items()},
            "grads": [z.grad for z in local],
        }
    return out


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory):
    """All cases computed in one pair of processes (spawning costs seconds)."""
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("redundancy"))


def _single_process(kind: str, params: tuple):
    full = [z.clone().requires_grad_() for z in _inputs()]
    terms = _terms(kind, params, *full, gather=False)
    terms["loss"].backward()
    return {name: t.detach() for name, t in terms.items()}, [z.grad for z in full]


@pytest.mark.parametrize(("kind", "params"), CASES)
def test_gathered_loss_equals_single_process(rank_results, kind, params):
    terms, grads = _single_process(kind, params)
    results = [r[(kind, params)] for r in rank_results]
    for name, value in terms.items():
        mean = sum(r["terms"][name] for r in results) / WORLD
        torch.testing.assert_close(mean, value, rtol=1e-5, atol=1e-6, msg=name)
    for rank, r in enumerate(results):
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        for g_rank, g_full in zip(r["grads"], grads, strict=True):
            torch.testing.assert_close(g_rank / WORLD, g_full[rows], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(("kind", "params"), CASES)
def test_batch_statistics_are_global_on_every_rank(rank_results, kind, params):
    terms, _ = _single_process(kind, params)
    # Everything but VICReg's per-item invariance is a statistic of the global batch.
    global_terms = ["loss"] if kind == "barlow_twins" else ["variance", "covariance"]
    for r in rank_results:
        for name in global_terms:
            got = r[(kind, params)]["terms"][name]
            torch.testing.assert_close(got, terms[name], rtol=1e-5, atol=1e-6, msg=name)
    if kind == "vicreg":
        assert float(terms["variance"]) > 0  # the hinge takes part in the gradient
