"""With 2 gloo processes, the multi-similarity loss with gather=True equals one process on
the whole batch (value; input gradient world_size x, as every gathered metric loss), and
the `multi_similarity` (with a cross-batch memory) and `proxy_anchor` methods give the
single-process loss and, averaged over ranks, its parameter gradients; every rank's
memory holds the global batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.encoders import as_encoder
from contrastkit.losses.multi_similarity import multi_similarity_loss
from contrastkit.methods import Batch
from contrastkit.methods.metric import MultiSimilarity
from contrastkit.methods.proxy_anchor import ProxyAnchor
from contrastkit.train import ddp
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD, N = 2, 6
LABELS = torch.tensor([0, 1, 2, 0, 4, 3, 1, 4, 2, 4, 3, 3])


def _rows() -> torch.Tensor:
    return torch.randn(WORLD * N, 8, generator=torch.Generator().manual_seed(11))


def _method(kind: str, gather: bool) -> nn.Module:
    torch.manual_seed(3)
    encoder = as_encoder(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 6)), (8,))
    if kind == "proxy_anchor":
        return ProxyAnchor(encoder, head=nn.Identity(), num_classes=5, gather=gather)
    return MultiSimilarity(encoder, head=nn.Identity(), beta=10.0, memory_size=48, gather=gather)


def _step(kind: str, rows: slice, gather: bool, steps: int = 2) -> dict:
    method = _method(kind, gather)
    g = torch.Generator().manual_seed(5)
    out = {}
    for step in range(steps):  # the second step of multi_similarity reads the memory
        views = [torch.randn(WORLD * N, 8, generator=g)[rows] for _ in range(2)]
        method.zero_grad()
        result = method.training_step(Batch(views, LABELS[rows]))
        result.loss.backward()
        ddp.average_gradients(method)
        method.on_step_end(0.5)
        out[step] = {"loss": result.loss.detach(),
                     "grads": [p.grad.clone() for p in method.parameters()]}  # fmt: skip
    if kind == "multi_similarity":
        out["memory"] = method.memory.references()
    return out


def _rank_fn(rank: int, world: int) -> dict:
    rows = slice(rank * N, (rank + 1) * N)
    z = _rows()[rows].clone().requires_grad_()
    loss = multi_similarity_loss(z, LABELS[rows], beta=10.0, gather=True)
    loss.backward()
    out = {"loss": {"loss": loss.detach(), "grad": z.grad}}
    for kind in ("multi_similarity", "proxy_anchor"):
        out[kind] = _step(kind, rows, gather=True)
    return out


def test_gathered_multi_similarity_and_methods_equal_one_process(tmp_path):
    ranks = run_distributed(_rank_fn, WORLD, tmp_path)
    z = _rows().requires_grad_()
    loss = multi_similarity_loss(z, LABELS, beta=10.0)
    loss.backward()
    for rank, got in enumerate(ranks):
        rows = slice(rank * N, (rank + 1) * N)
        torch.testing.assert_close(got["loss"]["loss"], loss.detach())
        torch.testing.assert_close(got["loss"]["grad"], WORLD * z.grad[rows])
    for kind in ("multi_similarity", "proxy_anchor"):
        want = _step(kind, slice(None), gather=False)
        for step in range(2):
            for got in ranks:
                torch.testing.assert_close(got[kind][step]["loss"], want[step]["loss"])
            averaged = [
                sum(g) / WORLD for g in zip(*(r[kind][step]["grads"] for r in ranks), strict=True)
            ]
            for a, b in zip(averaged, want[step]["grads"], strict=True):
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    rows, labels = _step("multi_similarity", slice(None), gather=False)["memory"]
    order = rows[:, 0].argsort()  # the ranks write the global batch in rank order
    for got in ranks:
        got_rows, got_labels = got["multi_similarity"]["memory"]
        got_order = got_rows[:, 0].argsort()
        torch.testing.assert_close(got_rows[got_order], rows[order])
        assert torch.equal(got_labels[got_order], labels[order])
