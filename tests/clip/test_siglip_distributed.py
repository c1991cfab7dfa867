"""SigLIP on 2 gloo processes: the gathered loss (text blocks one process at a time) and
the gradients equal one process on the whole batch, for the loss alone and for the method
(temperature and bias included)."""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses import siglip_loss
from contrastkit.methods.base import Batch
from contrastkit.methods.siglip import SigLIP
from tests.clip.test_clip_method import Tower
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD, N_PER_RANK = 2, 5


def _model(gather: bool) -> SigLIP:
    torch.manual_seed(0)
    return SigLIP(Tower(6, 5), text_encoder=Tower(4, 7), embed_dim=3, logit_scale=3.0,
                  logit_bias=-2.0, gather=gather)  # fmt: skip


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    n = WORLD * N_PER_RANK
    return torch.randn(n, 6, generator=g), torch.randn(n, 4, generator=g)


def _rank_fn(rank: int, world: int) -> dict:
    rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
    x, t = _data()
    method = _model(gather=True)
    out = method.training_step(Batch([x[rows], t[rows]]))
    out.loss.backward()
    grads = {n: p.grad.clone() for n, p in method.named_parameters()}
    a, b = x[rows, :3].clone().requires_grad_(), t[rows, :3].clone().requires_grad_()
    loss = siglip_loss(a, b, logit_scale=10.0, logit_bias=-10.0, gather=True)
    loss.backward()
    return {"step": out.loss.detach(), "grads": grads, "loss": loss.detach(),
            "input_grads": (a.grad, b.grad)}  # fmt: skip


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("siglip"))


def test_gathered_loss_equals_single_process(ranks) -> None:
    x, t = _data()
    a, b = x[:, :3].clone().requires_grad_(), t[:, :3].clone().requires_grad_()
    loss = siglip_loss(a, b, logit_scale=10.0, logit_bias=-10.0)
    loss.backward()
    assert (sum(r["loss"] for r in ranks) / WORLD).item() == pytest.approx(loss.item(), rel=1e-5)
    for rank, r in enumerate(ranks):
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        for g_rank, g_full in zip(r["input_grads"], (a.grad, b.grad), strict=True):
            torch.testing.assert_close(g_rank / WORLD, g_full[rows], rtol=1e-4, atol=1e-7)


def test_gathered_siglip_step_equals_single_process(ranks) -> None:
    method = _model(gather=False)
    x, t = _data()
    full = method.training_step(Batch([x, t]))
    full.loss.backward()
    assert (sum(r["step"] for r in ranks) / WORLD).item() == pytest.approx(
        full.loss.item(), rel=1e-5
    )
    grads = {n: p.grad for n, p in method.named_parameters()}
    assert {"logit_scale", "logit_bias"} <= set(grads)
    for name, grad in grads.items():
        averaged = sum(r["grads"][name] for r in ranks) / WORLD
        torch.testing.assert_close(averaged, grad, rtol=1e-4, atol=1e-6, msg=name)
