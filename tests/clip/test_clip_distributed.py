"""CLIP with gather=True on 2 gloo processes: the mean loss and the averaged parameter
gradients (what DDP applies), temperature included, equal one process on the whole batch."""

from __future__ import annotations

import pytest
import torch

from contrastkit.methods.base import Batch
from contrastkit.methods.clip import CLIP
from tests.clip.test_clip_method import Tower
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed

WORLD, N_PER_RANK = 2, 5


def _model(gather: bool) -> CLIP:
    torch.manual_seed(0)
    return CLIP(Tower(6, 5), text_encoder=Tower(4, 7), embed_dim=3, gather=gather)


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return torch.randn(WORLD * N_PER_RANK, 6, generator=g), torch.randn(
        WORLD * N_PER_RANK, 4, generator=g
    )


def _grads(method: CLIP) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in method.named_parameters()}


def _rank_fn(rank: int, world: int) -> dict:
    method = _model(gather=True)
    x, t = _data()
    rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
    out = method.training_step(Batch([x[rows], t[rows]]))
    out.loss.backward()
    return {"loss": out.loss.detach(), "grads": _grads(method)}


def test_gathered_clip_step_equals_single_process(tmp_path) -> None:
    ranks = run_distributed(_rank_fn, WORLD, tmp_path)
    method = _model(gather=False)
    x, t = _data()
    full = method.training_step(Batch([x, t]))
    full.loss.backward()
    mean_loss = sum(r["loss"] for r in ranks) / WORLD
    assert mean_loss.item() == pytest.approx(full.loss.item(), rel=1e-5)
    for name, grad in _grads(method).items():
        averaged = sum(r["grads"][name] for r in ranks) / WORLD
        torch.testing.assert_close(averaged, grad, rtol=1e-4, atol=1e-6, msg=name)
    assert "logit_scale" in _grads(method)
