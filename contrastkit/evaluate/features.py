"""Embed uint8 images with a frozen encoder, batch by batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from contrastkit.nn.placement import to_device
from contrastkit.progress import bar


def extract_features(
    fn: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    *,
    batch_size: int = 512,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    device: str | torch.device = "cpu",
    autocast_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Run `fn` over `images` in batches without gradients and stack its outputs.

    A progress bar counts the items on stderr when `contrastkit.progress` says so. Each
    batch is moved to `device`, scaled to [0, 1], normalised per channel by
    (x - mean) / std when both are given, and passed to `fn` under inference mode (and
    `torch.autocast(dtype=autocast_dtype)` if set). An `nn.Module` is switched to eval mode
    for the call and restored afterwards. Outputs with more than two dimensions, such as
    (B, C, 1, 1) after pooling, are flattened.

    Args:
        fn: encoder mapping (B, C, H, W) float images to (B, D) features.
        images: (N, C, H, W) uint8 images.
        batch_size: images per forward pass, >= 1.
        mean: C per-channel means of the [0, 1] pixels, or None for no normalisation.
        std: C per-channel standard deviations, all > 0; given together with `mean`.
        device: where `fn` runs; batches bound for CUDA are copied through pinned memory.
        autocast_dtype: e.g. torch.bfloat16 for mixed precision, or None for float32.

    Returns:
        (N, D) float32 features on the CPU (ordinary tensors, usable with autograd).

    Raises:
        ValueError: images are not (N, C, H, W) uint8, mean/std are malformed, or `fn`
            returns the wrong number of rows.

    Example:
        >>> encoder = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16))
        >>> images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
        >>> extract_features(encoder, images, batch_size=4).shape
        torch.Size([10, 16])
    """
    _check_images(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = torch.device(device)
    shift, scale = _normalisation(mean, std, images.shape[1], device)

    was_training = isinstance(fn, nn.Module) and fn.training
    if isinstance(fn, nn.Module):
        fn.eval()
    chunks = []
    progress = bar(images.shape[0], "embed", leave=False)  # drawn as `progress_bars` says
    try:
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size]
            with (
                torch.inference_mode(),
                torch.autocast(
                    device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None
                ),
            ):
                x = to_device(batch, device).float().div_(255)
                if shift is not None:
                    x = (x - shift) / scale
                out = fn(x)
            if out.ndim < 2 or out.shape[0] != batch.shape[0]:
                raise ValueError(
                    f"fn must return ({batch.shape[0]}, D) features for a batch of "
                    f"{batch.shape[0]} images, got {tuple(out.shape)}"
                )
            chunks.append(out.flatten(1).float().cpu())
            progress.update(batch.shape[0])
    finally:
        progress.close()
        if was_training:
            fn.train()
    if not chunks:
        return torch.empty(0, 0)
    # Concatenating outside inference mode returns a normal tensor.
    return torch.cat(chunks)


def raw_features(images: torch.Tensor) -> torch.Tensor:
    """Pixels as features, the raw-input baseline: (N, C, H, W) uint8 -> (N, C*H*W) float32.

    Values are pixels / 255, in [0, 1].
    """
    _check_images(images)
    if not isinstance(images, torch.Tensor):  # images on disk: decoded a chunk at a time
        return torch.cat([raw_features(images[i : i + 4096]) for i in range(0, len(images), 4096)])
    return images.flatten(1).float().div_(255)


def _check_images(images: torch.Tensor) -> None:
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ValueError(
            f"images must be a (N, C, H, W) uint8 tensor, got {tuple(images.shape)} {images.dtype}"
        )


def _normalisation(
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    channels: int,
    device: torch.device,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Per-channel (1, C, 1, 1) shift and scale, or (None, None) without normalisation."""
    if mean is None and std is None:
        return None, None
    if mean is None or std is None:
        raise ValueError("mean and std must be given together, got only one of them")
    shift = torch.as_tensor(mean, dtype=torch.float32).flatten()
    scale = torch.as_tensor(std, dtype=torch.float32).flatten()
    for name, values in (("mean", shift), ("std", scale)):
        if values.numel() != channels:
            raise ValueError(
                f"{name} must have one value per channel ({channels}), got {values.tolist()}"
            )
    if not bool((scale > 0).all()):
        raise ValueError(f"std must be > 0 for every channel, got {scale.tolist()}")
    return shift.view(1, -1, 1, 1).to(device), scale.view(1, -1, 1, 1).to(device)
