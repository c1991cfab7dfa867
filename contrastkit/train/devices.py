"""Where a run computes: device choice, the process-group backend it needs, and moving
batches there.

`resolve_device("auto")` picks CUDA, then Apple's MPS, then the CPU. Under torch.distributed
each process on a CUDA machine takes the GPU of its local rank (`LOCAL_RANK`, set by
torchrun and by `--nproc`). The backend follows the device: NCCL for CUDA, gloo otherwise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from contrastkit.errors import ConfigError
from contrastkit.nn.placement import _move, module_device, to_device

if TYPE_CHECKING:  # for the annotation only
    from contrastkit.methods.base import Batch

__all__ = [
    "DEVICE_PATTERN",
    "backend_for",
    "local_rank",
    "module_device",
    "move_batch",
    "resolve_device",
    "to_device",
    "torch_threads",
]

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def local_rank() -> int:
    """This process's index on its machine (torchrun's LOCAL_RANK; 0 without it)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(
    spec: str, *, rank: int | None = None, key: str = "config key 'train.device'"
) -> torch.device:
    """The torch device for `spec` ("auto", "cpu", "cuda", "cuda:N" or "mps").

    Args:
        spec: what the user asked for.
        rank: local process index; "auto" and "cuda" give it the GPU `rank % count` so
            that each process of a machine has its own (default: `local_rank()`).
        key: how errors name the setting (`--device` for commands without a config key).

    Raises:
        ConfigError: an unknown spelling, or a device this machine does not have (one
            sentence naming the key, the value and what torch sees).
    """
    if not DEVICE_PATTERN.match(spec):
        raise ConfigError(f"{key}: {spec!r} is not a device; use auto, cpu, cuda, cuda:N or mps")
    rank = local_rank() if rank is None else rank
    cuda = torch.cuda.is_available()
    if spec == "auto":
        if cuda:
            return torch.device("cuda", rank % torch.cuda.device_count())
        return torch.device("mps" if _mps_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not _mps_available():
            raise ConfigError(
                f"{key}: 'mps' is not available on this machine (torch "
                "sees no Apple GPU); use --device cpu or auto"
            )
        return torch.device("mps")
    if not cuda:
        raise ConfigError(
            f"{key}: {spec!r} is not available on this machine (torch "
            f"{torch.__version__} sees no CUDA device); use --device cpu or auto"
        )
    count = torch.cuda.device_count()
    index = rank % count if spec == "cuda" else int(spec.split(":")[1])
    if index >= count:
        raise ConfigError(
            f"{key}: {spec!r} does not exist; this machine has {count} "
            f"CUDA device(s), cuda:0 to cuda:{count - 1}"
        )
    return torch.device("cuda", index)


def backend_for(device: torch.device) -> str:
    """The torch.distributed backend for processes computing on `device`."""
    return "nccl" if device.type == "cuda" else "gloo"


def move_batch(batch: Batch, device: torch.device) -> Batch:
    """`batch` with its views, labels, negatives and scores on `device` (the index stays put).

    Tensors already there are not copied; a CPU batch bound for CUDA goes through pinned
    memory with a non-blocking copy.
    """
    pin = device.type == "cuda"
    return replace(
        batch,
        views=_move(batch.views, device, pin),
        labels=_move(batch.labels, device, pin),
        negatives=_move(batch.negatives, device, pin),
        scores=_move(batch.scores, device, pin),
    )


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op threads set to `threads` inside the block (None or 0: unchanged),
    and the previous number restored after it."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
