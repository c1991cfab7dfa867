"""Optimisers (SGD, LARS, AdamW) and the warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn
from torch.optim import Optimizer

OPTIMIZERS = ("sgd", "lars", "adamw")


class LARS(Optimizer):
    """Layer-wise Adaptive Rate Scaling [1], SGD with momentum whose step for each weight
    tensor is scaled by trust_coefficient * ||w|| / ||grad + weight_decay * w||.

    Parameter groups with `lars_exclude=True` (biases and normalisation weights, as in
    SimCLR [2]) take plain SGD steps without weight decay or adaptation.

    Args:
        params: parameters or parameter groups.
        lr: learning rate.
        momentum: momentum factor.
        weight_decay: L2 penalty added to the gradient before adaptation.
        trust_coefficient: eta in [1].

    [1] You et al., "Large Batch Training of Convolutional Networks", 2017.
    [2] Chen et al., ICML 2020, appendix B.1.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 1e-6,
        trust_coefficient: float = 0.001,
    ) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            trust_coefficient=trust_coefficient,
            lars_exclude=False,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                if not group["lars_exclude"]:
                    if group["weight_decay"] != 0:
                        d_p = d_p.add(p, alpha=group["weight_decay"])
                    w_norm, g_norm = torch.norm(p), torch.norm(d_p)
                    trust = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group["trust_coefficient"] * w_norm / g_norm,
                        torch.ones_like(w_norm),
                    )
                    d_p = d_p.mul(trust)
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = d_p.clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(d_p)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return loss


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split parameters into a decayed group (weights of conv/linear layers) and an
    undecayed group (biases and normalisation parameters: every tensor with ndim <= 1).

    When the model names parameters with a fixed learning rate (`fixed_lr_parameters()`,
    e.g. SimSiam's predictor), they form two more groups marked `fixed_lr=True`, which
    `set_lr` keeps at the base rate. Parameters named by `lr_scaled_parameters()` ->
    (scale, parameters), e.g. proxy-anchor's proxies, form a last group with `lr_scale`,
    which `set_lr` multiplies into the scheduled rate.
    """
    fixed_fn = getattr(model, "fixed_lr_parameters", None)
    fixed = {id(p) for p in fixed_fn()} if callable(fixed_fn) else set()
    scaled_fn = getattr(model, "lr_scaled_parameters", None)
    scale, scaled = scaled_fn() if callable(scaled_fn) else (1.0, [])
    scaled_ids = {id(p) for p in scaled}
    trained = [p for p in model.parameters() if p.requires_grad and id(p) not in scaled_ids]
    groups = []
    for is_fixed in (False, True):
        params = [p for p in trained if (id(p) in fixed) == is_fixed]
        if is_fixed and not params:
            continue
        mark = {"fixed_lr": True} if is_fixed else {}
        groups += [
            {"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay, **mark},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0,
             "lars_exclude": True, **mark},
        ]  # fmt: skip
    if scaled:  # e.g. proxy-anchor's proxies: base rate x scale, scheduled like the rest
        groups.append({"params": list(scaled), "weight_decay": weight_decay, "lr_scale": scale,
                       "lars_exclude": True})  # fmt: skip
    return groups


def build_optimizer(
    model: nn.Module,
    name: str,
    lr: float,
    weight_decay: float,
    momentum: float = 0.9,
) -> Optimizer:
    """SGD (Nesterov-free, momentum), LARS or AdamW over `parameter_groups(model)`.

    AdamW uses PyTorch's fused kernel (one kernel for all parameters instead of a loop of
    small ones) when every parameter is a floating-point tensor on a CPU or CUDA device.
    SGD keeps PyTorch's default (multi-tensor) implementation: its fused kernel fails when
    a parameter has no gradient in some steps (SwAV's prototypes while frozen).
    """
    groups = parameter_groups(model, weight_decay)
    if name == "lars":
        return LARS(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    for g in groups:
        g.pop("lars_exclude", None)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum)
    if name == "adamw":
        params = [p for g in groups for p in g["params"]]
        fused = bool(params) and all(
            p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params
        )
        return torch.optim.AdamW(groups, lr=lr, **({"fused": True} if fused else {}))
    raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")


def warmup_cosine(progress: float, warmup: float, final_ratio: float = 0.0) -> float:
    """Learning-rate multiplier at `progress` in [0, 1] of the training budget.

    Linear warmup from 0 over the first `warmup` fraction, then a half-cosine decay from 1
    to `final_ratio` at progress 1 (Loshchilov and Hutter, SGDR, 2017).
    """
    progress = min(max(progress, 0.0), 1.0)
    if warmup > 0 and progress < warmup:
        return progress / warmup
    span = max(1.0 - warmup, 1e-12)
    cosine = 0.5 * (1 + math.cos(math.pi * (progress - warmup) / span))
    return final_ratio + (1 - final_ratio) * cosine


def set_lr(optimizer: Optimizer, base_lr: float, factor: float) -> float:
    """Set every group's lr to base_lr * factor (groups marked `fixed_lr`: base_lr), times
    the group's `lr_scale` if any; return the scheduled rate."""
    lr = base_lr * factor
    for group in optimizer.param_groups:
        group["lr"] = (base_lr if group.get("fixed_lr") else lr) * group.get("lr_scale", 1.0)
    return lr
