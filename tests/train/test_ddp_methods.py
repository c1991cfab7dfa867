"""torch's DistributedDataParallel under the trainer: 2 gloo processes on the CPU end with
the weights of one process that trains on the whole batch, for SimCLR, MoCo (queue and
momentum encoder) and BYOL (momentum encoder, predictor, synchronised BatchNorm)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from contrastkit.encoders.vision import as_encoder
from contrastkit.methods import BYOL, MoCo, SimCLR
from contrastkit.nn.sync_batchnorm import convert_sync_batchnorm
from contrastkit.train.trainer import Trainer
from tests.helpers.distributed import run_distributed
from tests.helpers.sources import NoisyPairs


def _mlp(*sizes: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _method(name: str, gather: bool) -> nn.Module:
    torch.manual_seed(4)
    encoder = as_encoder(_mlp(12, 32, 16), (12,))
    if name == "simclr":
        return SimCLR(encoder, head=_mlp(16, 16, 8), temperature=0.2, gather=gather)
    if name == "moco":  # no BatchNorm: shuffled BN differs by design between 1 and 2 processes
        return MoCo(encoder, head=_mlp(16, 16, 8), queue_size=64, momentum=0.9,
                    shuffle_bn=False, gather=gather, proj_dim=8)  # fmt: skip
    method = BYOL(encoder, momentum=0.9, proj_hidden_dim=16, proj_dim=8)  # BatchNorm heads
    convert_sync_batchnorm(method)  # one process: plain BN; two: statistics of both halves
    return method


def _fit(name: str, gather: bool, batch: int = 32) -> tuple[list[tuple[str, torch.Tensor]], bool]:
    method = _method(name, gather)
    trainer = Trainer(method, optimizer="sgd", lr=0.2, batch_size=batch, steps=6,
                      precision="fp32", progress=False, device="cpu")  # fmt: skip
    trainer.fit(NoisyPairs())
    used_ddp = isinstance(trainer.step_module, DistributedDataParallel)
    return [(k, t.detach().clone()) for k, t in method.state_dict().items()], used_ddp


def _on_rank(rank: int, world: int, name: str) -> tuple[list[tuple[str, torch.Tensor]], bool]:
    return _fit(name, True)


@pytest.mark.parametrize("name", ["simclr", "moco", "byol"])
def test_ddp_on_two_processes_ends_with_the_single_process_weights(
    tmp_path: Path, name: str
) -> None:
    single, single_ddp = _fit(name, False)
    assert not single_ddp
    ranks = run_distributed(_on_rank, 2, tmp_path, name)
    for weights, used_ddp in ranks:
        assert used_ddp  # gradients went through torch's DDP, not a home-made all-reduce
        for (key, got), (_, want) in zip(weights, single, strict=True):
            if "queue" in key:  # the same keys, queued in rank order: compare as sets
                got, want = got.sort(dim=0).values, want.sort(dim=0).values
            if got.is_floating_point():
                torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    # the tolerance tells runs apart: one process on its half of each batch ends elsewhere
    half, _ = _fit(name, False, batch=16)
    assert any(
        not torch.allclose(a, b, rtol=1e-4, atol=1e-5)
        for (key, a), (_, b) in zip(half, single, strict=True)
        if a.is_floating_point() and "queue" not in key
    )
