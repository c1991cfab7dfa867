"""Batched image augmentations on tensors, with an independent random draw per sample.

Every transform takes a float batch (B, C, H, W) in [0, 1] and a `torch.Generator` and
returns a batch of the same layout; nothing loops over samples in Python. C may be 1
(grayscale) or 3 (RGB): colour-only operations leave grayscale images unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

_GRAY_WEIGHTS = (0.299, 0.587, 0.114)


def _uniform(low: float, high: float, n: int, g: torch.Generator, device: torch.device) -> Tensor:
    return torch.rand(n, generator=g, device=device) * (high - low) + low


def _coin(p: float, n: int, g: torch.Generator, device: torch.device) -> Tensor:
    """(n,) bool, each True with probability p."""
    return torch.rand(n, generator=g, device=device) < p


def _apply_to_subset(x: Tensor, apply: Tensor, fn) -> Tensor:
    """Run `fn` on the samples where `apply` (B,) is True and put the results back.

    Computing only the chosen rows (index_select / index_copy) is cheaper than computing
    every row and blending, and avoids `torch.where`, which is slow on CPU for images.
    """
    idx = apply.nonzero().squeeze(1)
    if idx.numel() == 0:
        return x
    if idx.numel() == x.shape[0]:
        return fn(x)
    return x.index_copy(0, idx, fn(x.index_select(0, idx)))


def _check_probability(name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {p}")


def _check_range(name: str, value: Sequence[float], low: float, high: float) -> None:
    if len(value) != 2 or not low <= value[0] <= value[1] <= high:
        raise ValueError(
            f"{name} must be (min, max) with {low} <= min <= max <= {high}, got {value}"
        )


def grayscale(x: Tensor) -> Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) luma (ITU-R 601); (B, 1, H, W) is returned as is."""
    if x.shape[1] == 1:
        return x
    w = x.new_tensor(_GRAY_WEIGHTS).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


class RandomResizedCrop:
    """Crop a random area fraction and aspect ratio, resize to `size`, optionally flip.

    The crop box is drawn as in torchvision's RandomResizedCrop (10 tries of area and
    log-uniform ratio, falling back to the whole image), independently per sample, and all
    crops are resampled at once with one bilinear `grid_sample`. A horizontal flip is
    folded into the same affine map.

    Args:
        size: output (height, width) or one int for a square.
        scale: range of the crop's area as a fraction of the image.
        ratio: range of the crop's aspect ratio (width / height).
        flip_p: probability of a horizontal flip.
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip_p: float = 0.5,
    ) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if min(self.size) < 1:
            raise ValueError(f"size must be positive, got {size}")
        _check_range("scale", scale, 0.0, 1.0)
        if scale[1] <= 0:
            raise ValueError(f"scale must allow a positive area, got {scale}")
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must be (min, max) with 0 < min <= max, got {ratio}")
        _check_probability("flip_p", flip_p)
        self.scale, self.ratio, self.flip_p = tuple(scale), tuple(ratio), flip_p

    def boxes(self, n: int, height: int, width: int, g: torch.Generator, device) -> Tensor:
        """(n, 4) crop boxes (top, left, h, w) in pixels, as floats."""
        tries = 10
        area = height * width * _uniform(*self.scale, n * tries, g, device).view(n, tries)
        log_r = _uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), n * tries, g, device)
        r = torch.exp(log_r).view(n, tries)
        w = torch.sqrt(area * r).round()
        h = torch.sqrt(area / r).round()
        ok = (w >= 1) & (h >= 1) & (w <= width) & (h <= height)
        first = torch.where(
            ok.any(1), ok.float().argmax(1), torch.full_like(ok[:, 0], -1, dtype=torch.long)
        )
        pick = first.clamp(min=0)[:, None]
        h = torch.where(first >= 0, h.gather(1, pick)[:, 0], torch.full_like(h[:, 0], height))
        w = torch.where(first >= 0, w.gather(1, pick)[:, 0], torch.full_like(w[:, 0], width))
        top = torch.floor(torch.rand(n, generator=g, device=device) * (height - h + 1))
        left = torch.floor(torch.rand(n, generator=g, device=device) * (width - w + 1))
        return torch.stack([top, left, h, w], dim=1)

    def __call__(self, x: Tensor, g: torch.Generator) -> Tensor:
        n, _, height, width = x.shape
        top, left, h, w = self.boxes(n, height, width, g, x.device).unbind(1)
        flip = 1.0 - 2.0 * _coin(self.flip_p, n, g, x.device).to(x.dtype)
        theta = x.new_zeros(n, 2, 3)
        # Map output coords in [-1, 1] to the crop box in input coords (align_corners=False).
        theta[:, 0, 0] = w / width * flip
        theta[:, 0, 2] = (2 * left + w) / width - 1
        theta[:, 1, 1] = h / height
        theta[:, 1, 2] = (2 * top + h) / height - 1
        grid = F.affine_grid(theta, [n, x.shape[1], *self.size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class ColorJitter:
    """Random brightness, contrast, saturation and hue, applied with probability `p`.

    Factors are drawn per sample as in torchvision (brightness, contrast and saturation
    from [1 - s, 1 + s], hue shift from [-h, h] turns); the order of the four operations is
    drawn once per batch. Hue is rotated in YIQ space (a per-sample 3x3 colour matrix),
    a close and much cheaper stand-in for torchvision's HSV hue shift. Saturation and hue
    are skipped for grayscale input.
    """

    def __init__(
        self,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.4,
        hue: float = 0.1,
        p: float = 0.8,
    ) -> None:
        for name, value in (
            ("brightness", brightness),
            ("contrast", contrast),
            ("saturation", saturation),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if not 0 <= hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5], got {hue}")
        _check_probability("p", p)
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation
        self.hue, self.p = hue, p

    def __call__(self, x: Tensor, g: torch.Generator) -> Tensor:
        n, dev = x.shape[0], x.device
        apply = _coin(self.p, n, g, dev)
        factors = [
            _uniform(1 - self.brightness, 1 + self.brightness, n, g, dev),
            _uniform(1 - self.contrast, 1 + self.contrast, n, g, dev),
            _uniform(1 - self.saturation, 1 + self.saturation, n, g, dev),
            _uniform(-self.hue, self.hue, n, g, dev),
        ]
        order = torch.randperm(4, generator=g, device=dev).tolist()
        idx = apply.nonzero().squeeze(1)
        if idx.numel() == 0:
            return x
        out = x.index_select(0, idx)
        f = [v.index_select(0, idx).view(-1, 1, 1, 1) for v in factors]
        rgb = out.shape[1] == 3
        for op in order:
            if op == 0 and self.brightness > 0:
                out = (out * f[0]).clamp_(0, 1)
            elif op == 1 and self.contrast > 0:
                mean = grayscale(out).mean(dim=(1, 2, 3), keepdim=True)
                out = torch.lerp(mean, out, f[1]).clamp_(0, 1)
            elif op == 2 and self.saturation > 0 and rgb:
                out = torch.lerp(grayscale(out), out, f[2]).clamp_(0, 1)
            elif op == 3 and self.hue > 0 and rgb:
                out = rotate_hue(out, f[3].view(-1))
        return x.index_copy(0, idx, out) if idx.numel() < n else out


_RGB_TO_YIQ = (
    (0.299, 0.587, 0.114),
    (0.595716, -0.274453, -0.321263),
    (0.211456, -0.522591, 0.311135),
)


def rotate_hue(x: Tensor, turns: Tensor) -> Tensor:
    """Rotate the hue of RGB images (B, 3, H, W) by `turns` (B,) of a full circle.

    The chroma plane (I, Q) of YIQ is rotated by 2 pi turns; luma is kept.
    """
    to_yiq = x.new_tensor(_RGB_TO_YIQ)
    to_rgb = torch.linalg.inv(to_yiq)
    angle = turns.to(x.dtype) * (2 * math.pi)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = x.new_zeros(x.shape[0], 3, 3)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2] = cos, -sin
    rot[:, 2, 1], rot[:, 2, 2] = sin, cos
    matrix = to_rgb @ rot @ to_yiq  # (B, 3, 3)
    out = torch.bmm(matrix, x.flatten(2))
    return out.view_as(x).clamp_(0, 1)


class RandomGrayscale:
    """Replace an RGB image by its luma in all three channels with probability `p`."""

    def __init__(self, p: float = 0.2) -> None:
        _check_probability("p", p)
        self.p = p

    def __call__(self, x: Tensor, g: torch.Generator) -> Tensor:
        apply = _coin(self.p, x.shape[0], g, x.device)
        if x.shape[1] == 1:
            return x
        return _apply_to_subset(x, apply, lambda s: grayscale(s).expand_as(s))


def _reflect_index(size: int, radius: int, device: torch.device) -> Tensor:
    """(size, 2*radius+1) source positions of a centred window, reflected at the borders."""
    pos = torch.arange(size, device=device)[:, None] + torch.arange(
        -radius, radius + 1, device=device
    )
    period = 2 * (size - 1) if size > 1 else 1
    pos = pos.remainder(period)
    return torch.minimum(pos, period - pos)


def _blur_matrix(sigma: Tensor, size: int, radius: int) -> Tensor:
    """(B, size, size) matrices applying a 1-D Gaussian of width sigma (B,) with reflection."""
    offsets = torch.arange(-radius, radius + 1, device=sigma.device, dtype=sigma.dtype)
    taps = torch.exp(-(offsets[None] ** 2) / (2 * sigma[:, None] ** 2))
    taps = taps / taps.sum(1, keepdim=True)  # (B, k)
    index = _reflect_index(size, radius, sigma.device).expand(sigma.shape[0], -1, -1)
    matrix = sigma.new_zeros(sigma.shape[0], size, size)
    return matrix.scatter_add_(2, index, taps[:, None, :].expand(-1, size, -1))


class GaussianBlur:
    """Gaussian blur with a per-sample sigma from `sigma`, applied with probability `p`.

    The separable blur runs as two batched matrix products with per-sample (banded)
    blur matrices, with reflected borders.

    Args:
        kernel_size: odd kernel size in pixels; None picks about 10% of the image side
            (SimCLR), at least 3.
        sigma: (min, max) standard deviation in pixels.
        p: probability of blurring a sample.
    """

    def __init__(
        self,
        kernel_size: int | None = None,
        sigma: tuple[float, float] = (0.1, 2.0),
        p: float = 0.5,
    ) -> None:
        if kernel_size is not None and (kernel_size < 1 or kernel_size % 2 == 0):
            raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")
        if len(sigma) != 2 or not 0 < sigma[0] <= sigma[1]:
            raise ValueError(f"sigma must be (min, max) with 0 < min <= max, got {sigma}")
        _check_probability("p", p)
        self.kernel_size, self.sigma, self.p = kernel_size, tuple(sigma), p

    def radius(self, height: int, width: int) -> int:
        k = self.kernel_size or max(3, int(0.1 * min(height, width)) // 2 * 2 + 1)
        return min(k // 2, min(height, width) - 1)

    def __call__(self, x: Tensor, g: torch.Generator) -> Tensor:
        n, c, height, width = x.shape
        apply = _coin(self.p, n, g, x.device)
        sigma = _uniform(*self.sigma, n, g, x.device)
        radius = self.radius(height, width)
        if radius < 1:
            return x

        def blur(s: Tensor) -> Tensor:
            sig = sigma[apply]
            rows = _blur_matrix(sig, height, radius)  # (b, H, H)
            cols = _blur_matrix(sig, width, radius)  # (b, W, W)
            b = s.shape[0]
            s = torch.bmm(s.reshape(b, c * height, width), cols.transpose(1, 2))
            s = s.view(b, c, height, width).transpose(1, 2).reshape(b, height, c * width)
            s = torch.bmm(rows, s).view(b, height, c, width).transpose(1, 2)
            return s.contiguous()

        return _apply_to_subset(x, apply, blur)


class RandomSolarize:
    """Invert pixels at or above `threshold` (in [0, 1]) with probability `p`."""

    def __init__(self, threshold: float = 0.5, p: float = 0.0) -> None:
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        _check_probability("p", p)
        self.threshold, self.p = threshold, p

    def __call__(self, x: Tensor, g: torch.Generator) -> Tensor:
        apply = _coin(self.p, x.shape[0], g, x.device)

        def solarize(s: Tensor) -> Tensor:
            return torch.lerp(s, 1.0 - s, (s >= self.threshold).to(s.dtype))

        return _apply_to_subset(x, apply, solarize)


class RandomStrokeWidth:
    """Thicken or thin strokes by one pixel with probability `p` (a grey-level dilation or
    erosion with a 3x3 square, each drawn with probability 1/2 per chosen sample).

    A dilation takes each pixel's 3x3 maximum, an erosion its minimum, so light strokes on
    a dark ground get thicker and thinner respectively, and the other way round for dark
    strokes: the stroke weight varies whatever the polarity. Meant for glyph-like images,
    where the weight of a font says nothing about the letter; in augmentation
    terms, a "morphological" distortion of the kind handwriting and OCR work uses (Simard
    et al., ICDAR 2003, use elastic distortions for the same reason).
    """

    def __init__(self, p: float = 0.5) -> None:
        _check_probability("p", p)
        self.p = p

    def __call__(self, x: Tensor, g: torch.Generator) -> Tensor:
        n = x.shape[0]
        apply = _coin(self.p, n, g, x.device)
        thicken = _coin(0.5, n, g, x.device)
        x = _apply_to_subset(x, apply & thicken, lambda s: F.max_pool2d(s, 3, 1, 1))
        return _apply_to_subset(x, apply & ~thicken, lambda s: -F.max_pool2d(-s, 3, 1, 1))


class Normalize:
    """Subtract a per-channel mean and divide by a per-channel std."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        if len(mean) != len(std) or any(s <= 0 for s in std):
            raise ValueError(f"mean and std must have equal length and std > 0, got {mean}, {std}")
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, x: Tensor, g: torch.Generator | None = None) -> Tensor:
        c = x.shape[1]
        if len(self.mean) not in (1, c):
            raise ValueError(f"Normalize has {len(self.mean)} channels, the images have {c}")
        mean = x.new_tensor(self.mean).view(1, -1, 1, 1)
        std = x.new_tensor(self.std).view(1, -1, 1, 1)
        return (x - mean) / std
