"""SyncBatchNorm with 2 gloo processes equals one BatchNorm over the concatenated batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.nn.sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm
from tests.helpers.distributed import run_distributed

SHAPES = {"2d": (8, 3, 5, 4), "1d": (8, 6)}


def _data(shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g) * 3 + 1
    upstream = torch.randn(shape, generator=g)  # d(loss)/d(output)
    return x, upstream


def _reference(shape: tuple[int, ...]) -> dict:
    """Plain BatchNorm on the whole batch: outputs, gradients, running statistics."""
    x, upstream = _data(shape)
    bn = nn.BatchNorm2d(shape[1]) if len(shape) == 4 else nn.BatchNorm1d(shape[1])
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    x.requires_grad_(True)
    y = bn(x)
    y.backward(upstream)
    return {
        "y": y.detach(), "dx": x.grad, "dw": bn.weight.grad, "db": bn.bias.grad,
        "running_mean": bn.running_mean, "running_var": bn.running_var,
    }  # fmt: skip


def _synced(rank: int, world: int, shape: tuple[int, ...]) -> dict:
    x, upstream = _data(shape)
    rows = slice(rank * shape[0] // world, (rank + 1) * shape[0] // world)
    torch.manual_seed(1)
    bn = nn.BatchNorm2d(shape[1]) if len(shape) == 4 else nn.BatchNorm1d(shape[1])
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    model = convert_sync_batchnorm(nn.Sequential(bn))
    assert isinstance(model[0], SyncBatchNorm)
    local = x[rows].clone().requires_grad_(True)
    y = model(local)
    y.backward(upstream[rows])
    sync = model[0]
    return {
        "y": y.detach(), "dx": local.grad, "dw": sync.weight.grad, "db": sync.bias.grad,
        "running_mean": sync.running_mean, "running_var": sync.running_var,
    }  # fmt: skip


@pytest.mark.distributed
@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_two_processes_equal_one_batchnorm_on_the_whole_batch(tmp_path, kind):
    shape = SHAPES[kind]
    torch.manual_seed(1)  # same weight draws as in the workers
    want = _reference(shape)
    got = run_distributed(_synced, 2, tmp_path, shape)
    torch.testing.assert_close(torch.cat([g["y"] for g in got]), want["y"])
    torch.testing.assert_close(torch.cat([g["dx"] for g in got]), want["dx"])
    # each process holds the gradient of its own rows' loss; their sum is the whole loss's
    torch.testing.assert_close(got[0]["dw"] + got[1]["dw"], want["dw"])
    torch.testing.assert_close(got[0]["db"] + got[1]["db"], want["db"])
    for g in got:
        torch.testing.assert_close(g["running_mean"], want["running_mean"])
        torch.testing.assert_close(g["running_var"], want["running_var"])


def test_single_process_is_plain_batchnorm():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    sync = convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3)))[0]
    x = torch.randn(4, 3, 2, 2)
    torch.testing.assert_close(sync(x), bn(x))
    torch.testing.assert_close(sync.running_var, bn.running_var)


def test_conversion_keeps_parameters_buffers_and_mode():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    with torch.no_grad():
        net[1].weight.fill_(2.0)
        net[1].running_mean.fill_(0.3)
    net[1].bias.requires_grad_(False)
    net.eval()
    out = convert_sync_batchnorm(net)
    assert isinstance(out[1], SyncBatchNorm) and not out[1].training
    assert torch.equal(out[1].weight, torch.full((4,), 2.0))
    assert torch.equal(out[1].running_mean, torch.full((4,), 0.3))
    assert not out[1].bias.requires_grad
