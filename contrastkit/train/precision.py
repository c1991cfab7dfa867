"""Mixed precision: which autocast dtype a device supports."""

from __future__ import annotations

from collections.abc import Mapping

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 matmul instructions (AVX512-BF16 or AMX-BF16).

    oneDNN's own check (`torch.ops.mkldnn._is_mkldnn_bf16_supported`) also answers yes on
    plain AVX-512, where bf16 is emulated: on such an Intel Xeon (no avx512_bf16, no AMX)
    a 2048^3 matmul ran at 63 GFLOP/s in bf16 against 344 in float32, and a SimCLR step
    took 2.3x as long under bf16 autocast. On x86 the instruction flags decide; elsewhere
    (ARM) oneDNN's check does.
    """
    flags = _cpu_flags()
    if flags is not None:
        return bool(flags & {"avx512_bf16", "amx_bf16"})
    return _onednn_bf16()


def _onednn_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _cpu_flags() -> set[str] | None:
    """The x86 CPU's instruction-set flags that PyTorch reports (`torch.cpu.get_capabilities`,
    true ones only), or None off x86 or where PyTorch cannot tell."""
    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is None:
        return None
    try:
        found = capabilities()
    except (RuntimeError, OSError):
        return None
    if not isinstance(found, Mapping) or found.get("architecture") not in ("x86_64", "AMD64"):
        return None
    return {name for name, value in found.items() if value is True}


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device`, or None for float32.

    "auto" picks bf16 on a CPU with native bf16 instructions and on a CUDA device that
    supports it, fp16 on older CUDA devices, float32 otherwise.

    Raises:
        ValueError: unknown precision, or fp16 on a CPU (slow and unsupported for training).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type != "cuda":
            raise ValueError("precision='fp16' needs a CUDA device; use bf16 or fp32 on a CPU")
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device.type == "cpu" and cpu_has_fast_bf16() else None


def inference_autocast(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for embedding with a run's `precision` on `device`: as in training
    (`autocast_dtype`), except that a run trained in fp16 on a GPU embeds in float32 on a
    device without fp16 autocast instead of failing."""
    if precision == "fp16" and device.type != "cuda":
        return None
    return autocast_dtype(precision, device)
