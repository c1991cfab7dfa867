"""Where tensors and modules are: copies of (nested) tensors to a device, and the device a
module computes on. Low-level, so encoders and evaluation use them without the trainer."""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import Tensor

__all__ = ["module_device", "to_device"]


def _move(x: Any, device: torch.device, pin: bool) -> Any:
    if x is None:
        return None
    if isinstance(x, Tensor):
        if x.device == device:
            return x
        if pin:  # page-locked host memory: the copy overlaps with compute
            x = x.pin_memory()
        return x.to(device, non_blocking=pin)
    if isinstance(x, dict):
        return {k: _move(v, device, pin) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return type(x)(_move(v, device, pin) for v in x)
    return x


def to_device(x: Any, device: torch.device) -> Any:
    """`x` (a tensor, or a dict, list or tuple of them) with its tensors on `device`.

    Tensors already there are not copied; CPU tensors bound for CUDA go through pinned
    memory with a non-blocking copy. Other values are returned as they are.
    """
    return _move(x, device, device.type == "cuda")


def module_device(module: Any) -> torch.device:
    """Where `module` computes: the device of its first parameter or buffer (the CPU for
    anything without one, such as a raw-feature baseline). Embedding helpers send each
    batch there, so moving a model once moves all its embedding."""
    if isinstance(module, torch.nn.Module):
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            return tensor.device
    return torch.device("cpu")
