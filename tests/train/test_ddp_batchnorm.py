"""BatchNorm under multi-process training (2 gloo processes): SyncBatchNorm makes a 2-process
run end with the weights of one process; MoCo's shuffling BN keeps ranks in agreement."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from contrastkit.encoders.vision import as_encoder
from contrastkit.methods import MoCo, SimCLR
from contrastkit.nn.sync_batchnorm import convert_sync_batchnorm
from contrastkit.train.trainer import Trainer
from tests.helpers.distributed import run_distributed
from tests.helpers.sources import NoisyPairs

pytestmark = pytest.mark.distributed


def _nets() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(4)
    body = nn.Sequential(nn.Linear(12, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 16))
    head = nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8))
    return as_encoder(body, (12,)), head


def _method(name: str, gather: bool, sync: bool, shuffle_bn: bool = False) -> nn.Module:
    encoder, head = _nets()
    if name == "simclr":
        method = SimCLR(encoder, head=head, temperature=0.2, gather=gather)
    else:
        method = MoCo(encoder, head=head, temperature=0.2, queue_size=64, momentum=0.9, proj_dim=8,
                      shuffle_bn=shuffle_bn, gather=gather)  # fmt: skip
    return convert_sync_batchnorm(method) if sync else method


def _fit(method: nn.Module, steps: int = 5) -> dict:
    trainer = Trainer(method, optimizer="sgd", lr=0.2, batch_size=32, steps=steps,
                      precision="fp32", progress=False)  # fmt: skip
    trainer.fit(NoisyPairs())
    state = {k: v.detach().clone() for k, v in method.state_dict().items()}
    return {"state": state, "params": [p.detach().clone() for p in method.parameters()]}


def _on_rank(rank: int, world: int, name: str, sync: bool, shuffle_bn: bool) -> dict:
    return _fit(_method(name, gather=True, sync=sync, shuffle_bn=shuffle_bn))


def _assert_params_close(got: list, want: list) -> None:
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["simclr", "moco"])
def test_sync_batchnorm_two_processes_end_with_the_weights_of_one(tmp_path: Path, name) -> None:
    single = _fit(_method(name, gather=False, sync=False))
    ranks = run_distributed(_on_rank, 2, tmp_path, name, True, False)
    for r in ranks:
        _assert_params_close(r["params"], single["params"])
        for key in ("running_mean", "running_var"):
            stats = [k for k in single["state"] if k.endswith(key)]
            assert stats
            for k in stats:
                torch.testing.assert_close(r["state"][k], single["state"][k], rtol=1e-4, atol=1e-5)


def test_without_sync_batchnorm_two_processes_differ_from_one(tmp_path: Path) -> None:
    """The control for the test above: local BatchNorm statistics change the result."""
    single = _fit(_method("simclr", gather=False, sync=False))
    ranks = run_distributed(_on_rank, 2, tmp_path, "simclr", False, False)
    gaps = [
        (g - w).abs().max().item()
        for g, w in zip(ranks[0]["params"], single["params"], strict=True)
    ]
    assert max(gaps) > 1e-3


def test_moco_shuffle_bn_keeps_processes_in_step(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shuffled = run_distributed(_on_rank, 2, tmp_path / "a", "moco", False, True)
    plain = run_distributed(_on_rank, 2, tmp_path / "b", "moco", False, False)
    # every process holds the same query and key networks and the same queue of negatives
    for key, value in shuffled[0]["state"].items():
        if "running_" not in key:  # BatchNorm statistics are per process by design
            torch.testing.assert_close(shuffled[1]["state"][key], value, rtol=1e-5, atol=1e-6)
    queue = next(k for k in shuffled[0]["state"] if k.startswith("queue") and "ptr" not in k)
    assert torch.isfinite(shuffled[0]["state"][queue]).all()
    # shuffling changed the keys' BatchNorm batches, hence the training
    gaps = [
        (s - p).abs().max().item()
        for s, p in zip(shuffled[0]["params"], plain[0]["params"], strict=True)
    ]
    assert max(gaps) > 1e-4
