"""Decoding one image (a file, or its encoded bytes from a tar shard or an Arrow table)
into a uint8 array, the same way for every reader."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

__all__ = ["DECODE_BAR_DELAY", "convert_image", "decode_image", "try_decode"]

DECODE_BAR_DELAY = 2.0  # seconds of decoding before a reader's progress bar appears

_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


def decode_image(
    source: Path | bytes, mode: str | None, size: tuple[int, int] | None
) -> np.ndarray:
    """One image (a file or its encoded bytes) as (H, W) or (H, W, 3) uint8: mode
    "L"/"RGB", or None for the image's own."""
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
        img.load()
        return convert_image(ImageOps.exif_transpose(img), mode, size)


def convert_image(img: Image.Image, mode: str | None, size: tuple[int, int] | None) -> np.ndarray:
    """A decoded PIL image as `decode_image` returns a file's: (H, W) or (H, W, 3) uint8."""
    if img.mode.startswith("I;16") and mode != "RGB":
        img = Image.fromarray((np.asarray(img, dtype=np.uint16) >> 8).astype(np.uint8))
    target = mode or ("L" if img.mode in _GRAY_MODES else "RGB")
    if img.mode != target:
        img = img.convert(target)
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def try_decode(
    source: Path | bytes, mode: str | None, size: tuple[int, int] | None
) -> np.ndarray | str:
    """The decoded array, or the reason it could not be read."""
    try:
        return decode_image(source, mode, size)
    except Exception as e:  # any decoder failure means "skip this file", never a crash
        return f"{type(e).__name__}: {e}"
