"""Momentum (EMA) copies of networks: MoCo's key encoder, BYOL's target network."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn


def momentum_copy(module: nn.Module) -> nn.Module:
    """A frozen deep copy of `module` (no gradients) to be updated by `ema_update`."""
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """target <- momentum * target + (1 - momentum) * online, parameter by parameter.

    Buffers (BatchNorm running statistics) are not touched: the target keeps its own,
    updated by its forward passes in train mode, as in MoCo and BYOL.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    t_params = list(target.parameters())
    o_params = list(online.parameters())
    if len(t_params) != len(o_params):
        raise ValueError("target and online networks have different parameters")
    if not t_params:  # e.g. an identity head (model.proj_dim=0): nothing to average
        return
    torch._foreach_mul_(t_params, momentum)
    torch._foreach_add_(t_params, o_params, alpha=1.0 - momentum)


def cosine_momentum(progress: float, base: float, final: float = 1.0) -> float:
    """BYOL's schedule: base at the start, `final` at the end of training.

    tau = final - (final - base) * (cos(pi * progress) + 1) / 2, with progress in [0, 1]
    (Grill et al. 2020, section 3.2).
    """
    progress = min(max(progress, 0.0), 1.0)
    return final - (final - base) * (math.cos(math.pi * progress) + 1.0) / 2.0
