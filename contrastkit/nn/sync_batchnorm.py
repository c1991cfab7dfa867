"""Batch normalisation with statistics over the global batch of all processes.

`torch.nn.SyncBatchNorm` refuses CPU tensors, so contrastkit carries its own: the mean
and variance come from every process's rows through autograd-aware all-reduces, so the
outputs, input gradients and running statistics are those of one BatchNorm over the
concatenated batch (tested with 2 gloo processes). Without torch.distributed, or in
eval mode, it is plain BatchNorm.
"""

from __future__ import annotations

import torch
import torch.distributed.nn.functional as dist_fn
from torch import Tensor, nn

from contrastkit.nn.distributed import is_distributed

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm"]


def _global_sum(x: Tensor) -> Tensor:
    """Sum over processes; the backward pass sums the gradients of every process too."""
    return dist_fn.all_reduce(x) if is_distributed() else x


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm over (N, C, *) inputs whose statistics span all processes' batches."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"SyncBatchNorm expects (N, C, ...) input, got shape {tuple(x.shape)}")

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        if not (self.training and is_distributed()):
            return super().forward(x)
        dims = [d for d in range(x.dim()) if d != 1]
        shape = [1, -1] + [1] * (x.dim() - 2)
        xf = x.float()  # statistics in fp32 also under bf16 autocast
        count = _global_sum(torch.tensor(float(x.numel() // x.shape[1])))
        mean = _global_sum(xf.sum(dims)) / count
        centred = xf - mean.view(shape)
        var = _global_sum(centred.square().sum(dims)) / count  # biased, as BatchNorm uses
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), float(count))
        return y.to(x.dtype) if x.dtype.is_floating_point else y

    @torch.no_grad()
    def _update_running_stats(self, mean: Tensor, var: Tensor, count: float) -> None:
        self.num_batches_tracked += 1
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * count / max(count - 1.0, 1.0)
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d/2d/3d inside `module` by a SyncBatchNorm with the same
    parameters and buffers; returns the (possibly new) module."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, SyncBatchNorm
    ):
        new = SyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats,
        )  # fmt: skip
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        if module.affine:
            new.weight.requires_grad_(module.weight.requires_grad)
            new.bias.requires_grad_(module.bias.requires_grad)
        return new.to(next(iter(module.state_dict().values()), torch.empty(0)).device)
    for name, child in module.named_children():
        setattr(module, name, convert_sync_batchnorm(child))
    return module
