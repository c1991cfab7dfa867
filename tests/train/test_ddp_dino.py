"""DINO under torch's DDP: 2 gloo processes, each with half of every batch, end with the
weights, teacher and center (and, with synchronised BatchNorm in the heads, the
statistics) of one process that trains on the whole batch; the center's
batch mean is all-reduced (without it the processes' centers drift apart)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from contrastkit.encoders.vision import as_encoder
from contrastkit.methods import DINO
from contrastkit.methods.base import Batch
from contrastkit.nn.sync_batchnorm import convert_sync_batchnorm
from contrastkit.train.trainer import Trainer
from tests.helpers.distributed import run_distributed
from tests.helpers.sources import NoisyPairs

pytestmark = pytest.mark.distributed


class MultiCrop(NoisyPairs):
    """Two fixed 'global' and two noisier 'local' views of random 12-d items."""

    def __init__(self, n: int = 96) -> None:
        super().__init__(n)
        g = torch.Generator().manual_seed(5)
        self.noise += [0.5 * torch.randn(n, 12, generator=g) for _ in range(2)]

    def batch(self, index: torch.Tensor, generator: torch.Generator) -> Batch:
        return Batch(views=[self.x[index] + e[index] for e in self.noise], index=index)


def _mlp(*sizes: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _fit(gather: bool, batch: int = 32) -> tuple[dict[str, torch.Tensor], bool]:
    torch.manual_seed(4)
    method = DINO(as_encoder(_mlp(12, 32, 16), (12,)), out_dim=24, momentum=0.9,
                  gather=gather, proj_hidden_dim=16, proj_dim=8)  # fmt: skip
    convert_sync_batchnorm(method)  # the head's BatchNorm: statistics of both halves
    trainer = Trainer(method, optimizer="sgd", lr=0.5, batch_size=batch, steps=6,
                      precision="fp32", progress=False, device="cpu")  # fmt: skip
    trainer.fit(MultiCrop())
    used_ddp = isinstance(trainer.step_module, DistributedDataParallel)
    return {k: t.detach().clone() for k, t in method.state_dict().items()}, used_ddp


def _on_rank(rank: int, world: int) -> dict[str, tuple[dict[str, torch.Tensor], bool]]:
    return {"gather": _fit(True), "local": _fit(False)}


def test_dino_on_two_processes_ends_with_the_single_process_state(tmp_path: Path) -> None:
    single, single_ddp = _fit(False)
    assert not single_ddp
    assert single["criterion.center"].abs().sum() > 0
    ranks = run_distributed(_on_rank, 2, tmp_path)
    for result in ranks:
        state, used_ddp = result["gather"]
        assert used_ddp  # gradients went through torch's DDP
        for key, want in single.items():
            if want.is_floating_point():
                torch.testing.assert_close(state[key], want, rtol=1e-4, atol=1e-5, msg=key)
            else:
                assert torch.equal(state[key], want), key
    # the tolerance tells runs apart: each process's own batch mean gives another center
    local = [result["local"][0]["criterion.center"] for result in ranks]
    assert not torch.allclose(local[0], single["criterion.center"], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(local[0], local[1], rtol=1e-4, atol=1e-5)
