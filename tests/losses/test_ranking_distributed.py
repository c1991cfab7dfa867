"""Gathered multiple-negatives ranking with 2 gloo processes equals the whole-batch loss."""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses.ranking import multiple_negatives_ranking
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD, N = 2, 5
CASES = [(0, False), (1, False), (2, False), (1, True)]  # (hard negatives per row, symmetric)


def _inputs(k: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(7 + k)
    out = [torch.randn(WORLD * N, 8, generator=g), torch.randn(WORLD * N, 8, generator=g)]
    if k:
        out.append(torch.randn(WORLD * N, k, 8, generator=g))
    return out


def _loss(tensors, symmetric, gather):
    neg = tensors[2] if len(tensors) == 3 else None
    return multiple_negatives_ranking(
        tensors[0], tensors[1], neg, temperature=0.1, symmetric=symmetric, gather=gather
    )


def _rank_fn(rank: int, world: int) -> dict:
    out = {}
    for k, symmetric in CASES:
        local = [t[rank * N : (rank + 1) * N].clone().requires_grad_() for t in _inputs(k)]
        loss = _loss(local, symmetric, gather=True)
        loss.backward()
        out[(k, symmetric)] = (loss.detach(), [t.grad for t in local])
    return out


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory):
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("mnrl"))


@pytest.mark.parametrize(("k", "symmetric"), CASES)
def test_gathered_equals_single_process(rank_results, k, symmetric):
    full = [t.clone().requires_grad_() for t in _inputs(k)]
    loss = _loss(full, symmetric, gather=False)
    loss.backward()
    results = [r[(k, symmetric)] for r in rank_results]
    torch.testing.assert_close(sum(r[0] for r in results) / WORLD, loss.detach())
    for rank, (_, grads) in enumerate(results):
        for g_rank, t in zip(grads, full, strict=True):
            torch.testing.assert_close(g_rank / WORLD, t.grad[rank * N : (rank + 1) * N])
