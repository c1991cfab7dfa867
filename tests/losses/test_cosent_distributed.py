"""CoSENT and AnglE with gather=True on 2 gloo processes: every process ranks the pairs of
the global batch, so the mean loss and the ranks' input gradients (divided by the world
size, as DDP's averaging does) equal one process on the whole batch."""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses import angle_loss, cosent_loss
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD, N_PER_RANK = 2, 6
LOSSES = {"cosent": cosent_loss, "angle": angle_loss}


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    n = WORLD * N_PER_RANK
    return (
        torch.randn(n, 8, generator=g),
        torch.randn(n, 8, generator=g),
        torch.rand(n, generator=g),
    )


def _rank_fn(rank: int, world: int) -> dict:
    a, p, s = _inputs()
    rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
    out = {}
    for name, fn in LOSSES.items():
        la, lp = a[rows].clone().requires_grad_(), p[rows].clone().requires_grad_()
        loss = fn(la, lp, s[rows], gather=True)
        loss.backward()
        out[name] = {"loss": loss.detach(), "grads": (la.grad, lp.grad)}
    return out


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("cosent"))


@pytest.mark.parametrize("name", list(LOSSES))
def test_gathered_ranking_equals_single_process(ranks, name):
    a, p, s = _inputs()
    fa, fp = a.clone().requires_grad_(), p.clone().requires_grad_()
    loss = LOSSES[name](fa, fp, s)
    loss.backward()
    results = [r[name] for r in ranks]
    torch.testing.assert_close(sum(r["loss"] for r in results) / WORLD, loss.detach())
    for rank, r in enumerate(results):
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        for g_rank, g_full in zip(r["grads"], (fa.grad, fp.grad), strict=True):
            torch.testing.assert_close(g_rank / WORLD, g_full[rows], rtol=1e-4, atol=1e-7)
