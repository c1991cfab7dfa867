"""Compose batched transforms into views: `ImageViews` turns one batch into V augmented views."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.views.image import (
    ColorJitter,
    GaussianBlur,
    Normalize,
    RandomGrayscale,
    RandomResizedCrop,
    RandomSolarize,
    RandomStrokeWidth,
)

Transform = Callable[[Tensor, torch.Generator], Tensor]


class Compose:
    """Apply batched transforms in order, sharing one generator."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Tensor, g: torch.Generator) -> Tensor:
        for t in self.transforms:
            x = t(x, g)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(type(t).__name__ for t in self.transforms)
        return f"Compose([{inner}])"


def to_float(images: Tensor) -> Tensor:
    """uint8 (B, C, H, W) in [0, 255] -> float32 in [0, 1]; float input is returned as float32."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


class EvalPreprocess:
    """The deterministic counterpart of the views for embedding: to float in [0, 1], resize
    to `size` (bilinear, antialiased) when the images differ, normalise.

    Call with (B, C, H, W) uint8 or float images; returns float32 (B, C, size, size).
    """

    def __init__(
        self,
        size: int | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        self.size = size
        self.normalize = Normalize(mean, std) if mean is not None and std is not None else None

    def __call__(self, images: Tensor) -> Tensor:
        x = to_float(images)
        if self.size is not None and tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True)
        return self.normalize(x) if self.normalize is not None else x


@dataclass
class ViewSettings:
    """Knobs of the SimCLR-style view pipeline (the keys of the `views` config section)."""

    size: int = 32
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    grayscale_p: float = 0.2
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = 0.0
    stroke_p: float = 0.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    n_views: int = 2
    local_views: int = 0
    local_size: int = 12
    local_crop_scale: tuple[float, float] = (0.05, 0.4)
    eval_size: int | None = None


class ImageViews:
    """Turn a batch of images into `n_views` independently augmented views.

    Args:
        transforms: one transform per view, or a single transform used for every view.
        n_views: number of views when a single transform is given.

    Call with a uint8 or float batch (B, C, H, W) and a `torch.Generator`; returns a list of
    float32 tensors (B, C, h, w). Same generator state, same output.

    Example:
        >>> views = ImageViews.simclr(size=28)
        >>> g = torch.Generator().manual_seed(0)
        >>> v1, v2 = views(torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8), g)
    """

    def __init__(
        self,
        transforms: Transform | Sequence[Transform],
        n_views: int = 2,
        preprocess: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        self.preprocess = preprocess or EvalPreprocess()
        if callable(transforms):
            if n_views < 1:
                raise ValueError(f"n_views must be >= 1, got {n_views}")
            transforms = [transforms] * n_views
        self.transforms = list(transforms)
        if not self.transforms:
            raise ValueError("ImageViews needs at least one transform")

    @property
    def n_views(self) -> int:
        return len(self.transforms)

    def __call__(self, images: Tensor, g: torch.Generator) -> list[Tensor]:
        if images.ndim != 4:
            raise ValueError(f"images must be (B, C, H, W), got shape {tuple(images.shape)}")
        x = to_float(images)
        return [t(x, g) for t in self.transforms]

    @classmethod
    def from_settings(cls, s: ViewSettings) -> ImageViews:
        """Build the crop/flip, jitter, grayscale, blur, solarize, normalise pipeline:
        `n_views` global views of `size`, then `local_views` small crops of `local_size`
        (multi-crop, Caron et al. 2020) with the same colour augmentations."""
        global_view = cls._pipeline(s, s.size, s.crop_scale)
        transforms = [global_view] * s.n_views
        if s.local_views > 0:
            local_view = cls._pipeline(s, s.local_size, s.local_crop_scale)
            transforms += [local_view] * s.local_views
        return cls(transforms, preprocess=EvalPreprocess(s.eval_size, s.mean, s.std))

    @staticmethod
    def _pipeline(s: ViewSettings, size: int, crop_scale: tuple[float, float]) -> Compose:
        steps: list[Transform] = [RandomStrokeWidth(s.stroke_p)] if s.stroke_p > 0 else []
        steps.append(RandomResizedCrop(size, crop_scale, s.crop_ratio, s.flip_p))
        if s.jitter_p > 0:
            steps.append(ColorJitter(s.brightness, s.contrast, s.saturation, s.hue, s.jitter_p))
        if s.grayscale_p > 0:
            steps.append(RandomGrayscale(s.grayscale_p))
        if s.blur_p > 0:
            steps.append(GaussianBlur(sigma=s.blur_sigma, p=s.blur_p))
        if s.solarize_p > 0:
            steps.append(RandomSolarize(p=s.solarize_p))
        if s.mean is not None and s.std is not None:
            steps.append(Normalize(s.mean, s.std))
        return Compose(steps)

    @classmethod
    def simclr(cls, size: int = 32, **overrides) -> ImageViews:
        """SimCLR's augmentations [1] at the strength the paper uses for CIFAR-10.

        Crop 8-100% of the area and resize, horizontal flip (p 0.5), colour jitter
        (p 0.8; brightness, contrast, saturation 0.4, hue 0.1: strength s = 0.5),
        grayscale (p 0.2), Gaussian blur (p 0.5, sigma 0.1-2). Keyword overrides take any
        `ViewSettings` field.

        "We sequentially apply three simple augmentations: random cropping followed by
        resize back to the original size, random color distortions, and random Gaussian
        blur." [1], section 3; the colour strength 0.5 for CIFAR-10 is from appendix B.9.

        [1] Chen et al., ICML 2020.
        """
        return cls.from_settings(ViewSettings(size=size, **overrides))

    def __repr__(self) -> str:
        return f"ImageViews(n_views={self.n_views}, transforms={self.transforms[0]!r})"
