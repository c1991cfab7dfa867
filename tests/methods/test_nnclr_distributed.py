"""NNCLR on 2 gloo processes equals one process on the whole batch: the gathered loss and
its gradients, and a short DDP run's weights and support set (filled with the projections
of both processes, in rank order)."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from contrastkit.encoders.vision import as_encoder
from contrastkit.losses import nnclr_loss
from contrastkit.methods import NNCLR
from contrastkit.nn.sync_batchnorm import convert_sync_batchnorm
from contrastkit.train.trainer import Trainer
from tests.helpers.distributed import run_distributed
from tests.helpers.sources import NoisyPairs

pytestmark = pytest.mark.distributed

WORLD, N_PER_RANK = 2, 6


def _inputs() -> tuple[list[torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(1234)
    z_a, z_b, p_a, p_b = (torch.randn(WORLD * N_PER_RANK, 8, generator=g) for _ in range(4))
    return [z_a, z_b, p_a, p_b], F.normalize(torch.randn(20, 8, generator=g), dim=1)


def _loss(x: list[torch.Tensor], support: torch.Tensor, gather: bool) -> torch.Tensor:
    return nnclr_loss(x[0], x[1], p_a=x[2], p_b=x[3], support=support, temperature=0.1,
                      gather=gather)  # fmt: skip


def _mlp(*sizes: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _fit(gather: bool, batch: int = 32) -> tuple[dict[str, torch.Tensor], bool]:
    torch.manual_seed(4)
    encoder = as_encoder(_mlp(12, 32, 16), (12,))
    method = NNCLR(encoder, queue_size=48, proj_hidden_dim=16, proj_dim=8, gather=gather)
    convert_sync_batchnorm(method)  # one process: plain BN; two: statistics of both halves
    # lr 0.1, 5 steps: the top-1 search is discontinuous, and at lr 0.2 the float noise of
    # the two reduction orders flipped one neighbour by step 6 (weights then differ by 3e-3)
    trainer = Trainer(method, optimizer="sgd", lr=0.1, batch_size=batch, steps=5,
                      precision="fp32", progress=False, device="cpu")  # fmt: skip
    trainer.fit(NoisyPairs())  # 5 x 32 rows through a support set of 48: it wraps
    used_ddp = isinstance(trainer.step_module, DistributedDataParallel)
    return {k: t.detach().clone() for k, t in method.state_dict().items()}, used_ddp


def _rank_fn(rank: int, world: int) -> dict:
    x, support = _inputs()
    rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
    local = [v[rows].clone().requires_grad_() for v in x]
    loss = _loss(local, support, gather=True)
    loss.backward()
    state, used_ddp = _fit(gather=True)
    return {"loss": loss.detach(), "grads": [local[2].grad, local[3].grad],
            "state": state, "used_ddp": used_ddp}  # fmt: skip


@pytest.fixture(scope="module")
def rank_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Both checks in one pair of processes (spawning costs seconds)."""
    return run_distributed(_rank_fn, WORLD, tmp_path_factory.mktemp("nnclr"))


def test_gathered_loss_and_gradients_equal_one_process(rank_results: list[dict]) -> None:
    x, support = _inputs()
    full = [v.clone().requires_grad_() for v in x]
    loss = _loss(full, support, gather=False)
    loss.backward()
    mean_loss = sum(r["loss"] for r in rank_results) / WORLD
    torch.testing.assert_close(mean_loss, loss.detach(), rtol=1e-5, atol=1e-6)
    for rank, r in enumerate(rank_results):
        rows = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        for g_rank, v in zip(r["grads"], full[2:], strict=True):  # DDP averages: / WORLD
            torch.testing.assert_close(g_rank / WORLD, v.grad[rows], rtol=1e-4, atol=1e-7)


def test_ddp_ends_with_the_single_process_weights_and_support_set(
    rank_results: list[dict],
) -> None:
    single, used_ddp = _fit(gather=False)
    assert not used_ddp
    assert int(single["support.count"]) == 48 and int(single["support.ptr"]) == 160 % 48
    for r in rank_results:
        assert r["used_ddp"]  # gradients went through torch's DDP
        assert r["state"].keys() == single.keys()
        for key, want in single.items():
            got = r["state"][key]
            if want.is_floating_point():
                torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5, msg=key)
            else:
                assert torch.equal(got, want), key
    # the tolerance tells runs apart: one process on its half of each batch ends elsewhere
    half, _ = _fit(gather=False, batch=16)
    assert not torch.allclose(half["support.rows"], single["support.rows"], atol=1e-3)
    assert any(
        not torch.allclose(half[k], single[k], rtol=1e-4, atol=1e-5)
        for k in single
        if k.startswith("encoder.") and single[k].is_floating_point()
    )
