"""With 2 gloo processes, the pair contrastive and triplet losses with gather=True, and the
`contrastive` and `triplet` methods with gather=True, equal one process on the whole batch.

Each rank holds half the rows. The losses mine over the gathered global batch, so every
rank's value is the global loss and its input gradient is world_size x the global gradient
of its rows (the gradient-aware gather sums the ranks' identical gradients; the trainer's
averaging turns it back). For the methods, the ranks' parameter gradients averaged (what
the trainer does) equal the single-process gradients.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.encoders import as_encoder
from contrastkit.losses.metric import contrastive_loss, triplet_loss
from contrastkit.methods import Batch, PairContrastive, Triplet
from contrastkit.train import ddp
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD, N = 2, 6  # rows per rank
LABELS = torch.tensor([0, 1, 2, 0, 9, 8, 1, 4, 2, 4, 3, 3])  # some positives cross ranks
LOSS_CASES = [
    ("contrastive", "all", "cosine"),
    ("contrastive", "hard", "euclidean"),
    ("triplet", "batch_all", "cosine"),
    ("triplet", "batch_hard", "euclidean"),
    ("triplet", "semi_hard", "cosine"),
]
METHOD_CASES = [("triplet", False), ("triplet", True), ("contrastive", False)]


def _rows() -> torch.Tensor:
    return torch.randn(WORLD * N, 8, generator=torch.Generator().manual_seed(11))


def _loss(kind: str, miner: str, metric: str, z, labels, gather: bool) -> torch.Tensor:
    fn = contrastive_loss if kind == "contrastive" else triplet_loss
    margin = 0.5 if kind == "contrastive" else 0.3
    return fn(z, labels, margin, metric, miner, gather=gather)


def _method(kind: str, use_labels: bool, gather: bool) -> nn.Module:
    torch.manual_seed(3)
    cls = Triplet if kind == "triplet" else PairContrastive
    encoder = as_encoder(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 6)), (8,))
    return cls(encoder, head=nn.Identity(), use_labels=use_labels, gather=gather)


def _views() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    return [torch.randn(WORLD * N, 8, generator=g) for _ in range(2)]


def _method_step(kind: str, use_labels: bool, rows: slice, gather: bool) -> dict:
    method = _method(kind, use_labels, gather)
    views = [v[rows] for v in _views()]
    out = method.training_step(Batch(views, LABELS[rows]))
    out.loss.backward()
    ddp.average_gradients(method)  # what the trainer does after every step
    return {"loss": out.loss.detach(), "grads": [p.grad.clone() for p in method.parameters()]}


def _rank_fn(rank: int, world: int) -> dict:
    rows = slice(rank * N, (rank + 1) * N)
    out = {}
    for case in LOSS_CASES:
        z = _rows()[rows].clone().requires_grad_()
        loss = _loss(*case, z, LABELS[rows], gather=True)
        loss.backward()
        out[case] = {"loss": loss.detach(), "grad": z.grad}
    for kind, use_labels in METHOD_CASES:
        out[(kind, use_labels)] = _method_step(kind, use_labels, rows, gather=True)
    return out


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory):
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("metric_gather"))


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: "-".join(c))
def test_gathered_loss_equals_the_whole_batch(rank_results, case) -> None:
    z = _rows().requires_grad_()
    loss = _loss(*case, z, LABELS, gather=False)
    loss.backward()
    for rank, result in enumerate(rank_results):
        torch.testing.assert_close(result[case]["loss"], loss.detach())
        want = WORLD * z.grad[rank * N : (rank + 1) * N]
        torch.testing.assert_close(result[case]["grad"], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("kind", "use_labels"), METHOD_CASES)
def test_gathered_method_step_equals_one_process(rank_results, kind, use_labels) -> None:
    """Instance labels are offset by rank, so two processes' items never share a label."""
    whole = _method_step(kind, use_labels, slice(None), gather=False)
    for result in rank_results:
        got = result[(kind, use_labels)]
        torch.testing.assert_close(got["loss"], whole["loss"], rtol=1e-5, atol=1e-6)
        for g, w in zip(got["grads"], whole["grads"], strict=True):
            torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)
