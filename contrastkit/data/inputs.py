"""Inputs given in Python (`contrastkit.load(...).encode`): images (files, PIL images,
arrays, tensors) as one batch tensor read the way a run reads its own images, and any
inputs as a list."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from contrastkit.data.decode import convert_image
from contrastkit.data.folder import load_image_file
from contrastkit.errors import ContrastkitError

__all__ = ["as_list", "id_codes", "image_batch"]


def image_batch(inputs: Any, image_size: int | None, channels: int) -> torch.Tensor:
    """Images -> (N, C, H, W) uint8: files and PIL images decoded, converted to `channels`
    and resized to `image_size` like `load_image_file`; tensors and arrays as given (float
    ones in [0, 1] quantised to uint8, as the run's images are stored).

    Args:
        inputs: a (N, C, H, W) or (C, H, W) tensor (uint8, or float in [0, 1]); a numpy
            array of the same layout or (N, H, W, C); or a list of file paths, PIL images
            and (H, W[, C]) arrays.
        image_size: the run's image side (None: keep the size).
        channels: 1 or 3.

    Raises:
        ContrastkitError: an input of another kind, or images of another channel count.
    """
    if isinstance(inputs, np.ndarray):
        inputs = torch.from_numpy(np.ascontiguousarray(inputs))
        if inputs.ndim == 4 and inputs.shape[-1] in (1, 3) and inputs.shape[1] not in (1, 3):
            inputs = inputs.permute(0, 3, 1, 2).contiguous()  # (N, H, W, C) -> (N, C, H, W)
    if isinstance(inputs, torch.Tensor):
        batch = inputs[None] if inputs.ndim == 3 else inputs
        if batch.ndim != 4 or batch.shape[1] != channels:
            raise ContrastkitError(
                f"images must be (N, {channels}, H, W) for this model, got {tuple(inputs.shape)}"
            )
        if batch.is_floating_point():  # [0, 1] -> uint8, as the run's images are stored
            batch = (batch.clamp(0, 1) * 255).round().to(torch.uint8)
        return batch
    if isinstance(inputs, str | Path | Image.Image):
        inputs = [inputs]
    return torch.stack([_one(x, image_size, channels) for x in inputs])


def _one(x: Any, image_size: int | None, channels: int) -> torch.Tensor:
    mode = "L" if channels == 1 else "RGB"
    size = (image_size, image_size) if image_size else None
    if isinstance(x, str | Path):
        return load_image_file(x, image_size=image_size, channels=channels)
    if isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim in (2, 3):
        x = Image.fromarray(x if x.ndim == 2 or x.shape[2] == 3 else x[:, :, 0])
    if isinstance(x, Image.Image):
        array = convert_image(x, mode, size)
        array = array[:, :, None] if array.ndim == 2 else array
        return torch.from_numpy(array.transpose(2, 0, 1).copy())
    raise ContrastkitError(
        f"an image is a file path, a PIL image or a uint8 array, got {type(x).__name__}"
    )


def as_list(inputs: Sequence[Any] | Any) -> list[Any]:
    """`inputs` as a list (a single string or path becomes a list of one)."""
    return [inputs] if isinstance(inputs, str | Path) else list(inputs)


def id_codes(inputs: Any, known: Sequence[str], what: str) -> tuple[torch.Tensor, list[str]]:
    """(N,) int64 positions in `known` of the ids given (one or a list), and the ids as
    strings.

    Raises:
        ContrastkitError: an id not in `known`, named with examples of `what` ids it knows.
    """
    index = {name: i for i, name in enumerate(known)}
    names = [str(x) for x in as_list(inputs)]
    unknown = [n for n in names if n not in index]
    if unknown:
        raise ContrastkitError(
            f"unknown {what} ids {unknown[:3]}: the run knows ids like {', '.join(known[:3])}"
        )
    return torch.tensor([index[n] for n in names], dtype=torch.long), names
