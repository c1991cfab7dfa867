"""Batched image transforms: shapes, ranges, per-sample randomness, seeding, probabilities,
exact special cases and parity with slow references written in the tests."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.views import (
    ColorJitter,
    GaussianBlur,
    Normalize,
    RandomGrayscale,
    RandomResizedCrop,
    RandomSolarize,
    RandomStrokeWidth,
    grayscale,
)
from contrastkit.views.image import _blur_matrix, rotate_hue


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(b: int = 8, c: int = 3, h: int = 16, w: int = 16, seed: int = 0) -> torch.Tensor:
    """Random float images in [0, 1]."""
    return torch.rand(b, c, h, w, generator=gen(seed + 1000))


def repeated(b: int = 32, c: int = 3, h: int = 16, w: int = 16) -> torch.Tensor:
    """One random image repeated b times."""
    return images(1, c, h, w).expand(b, -1, -1, -1).contiguous()


def n_distinct_rows(x: torch.Tensor) -> int:
    return torch.unique(x.flatten(1), dim=0).shape[0]


def changed(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """(B,) bool: which samples differ from the input."""
    return (out != x).flatten(1).any(dim=1)


# Each transform set up so that it always changes a random image when applied.
ALWAYS = {
    "crop": lambda: RandomResizedCrop(12),
    "jitter": lambda: ColorJitter(p=1.0),
    "grayscale": lambda: RandomGrayscale(p=1.0),
    "blur": lambda: GaussianBlur(kernel_size=5, sigma=(0.5, 2.0), p=1.0),
    "solarize": lambda: RandomSolarize(threshold=0.5, p=1.0),
    "stroke": lambda: RandomStrokeWidth(p=1.0),
}

# The same transforms at probability p (RandomResizedCrop has no p).
AT_P = {
    "jitter": lambda p: ColorJitter(p=p),
    "grayscale": lambda p: RandomGrayscale(p=p),
    "blur": lambda p: GaussianBlur(kernel_size=3, sigma=(0.5, 2.0), p=p),
    "solarize": lambda p: RandomSolarize(threshold=0.5, p=p),
    "stroke": lambda p: RandomStrokeWidth(p=p),
}


# --- shared properties -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(ALWAYS))
@pytest.mark.parametrize("channels", [1, 3])
def test_shape_dtype_and_range(name, channels):
    x = images(6, channels, 16, 20)
    out = ALWAYS[name]()(x, gen())
    expected = (6, channels, 12, 12) if name == "crop" else x.shape
    assert out.shape == expected
    assert out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", list(ALWAYS))
def test_same_seed_same_output_other_seed_other_output(name):
    x = images(16)
    # Grayscale and solarize at p=1 are deterministic; their only draw is the coin.
    t = AT_P[name](0.5) if name in ("grayscale", "solarize") else ALWAYS[name]()
    a, b, c = t(x, gen(7)), t(x, gen(7)), t(x, gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("name", ["crop", "jitter", "blur"])
def test_rows_of_a_repeated_image_get_different_draws(name):
    x = repeated(32)
    out = ALWAYS[name]()(x, gen(3))
    assert n_distinct_rows(out) == 32


@pytest.mark.parametrize("name", list(AT_P))
def test_p0_is_identity(name):
    x = images(16)
    assert torch.equal(AT_P[name](0.0)(x, gen()), x)


@pytest.mark.parametrize("name", list(AT_P))
def test_p1_always_applied(name):
    x = images(64, h=8, w=8)
    assert changed(x, AT_P[name](1.0)(x, gen())).all()


@pytest.mark.parametrize("name", list(AT_P))
def test_p_half_changes_about_half(name):
    x = images(2000, h=4, w=4)
    fraction = changed(x, AT_P[name](0.5)(x, gen(5))).float().mean().item()
    assert 0.45 < fraction < 0.55  # binomial std 0.011


@pytest.mark.parametrize("name", list(AT_P))
def test_partly_applied_batch_leaves_the_other_rows_untouched(name):
    # The rows that are applied must equal the transform applied to those rows alone
    # (index_select / index_copy must not mix rows up): check with a batch of copies.
    x = images(200, h=6, w=6)
    out = AT_P[name](0.5)(x, gen(2))
    hit = changed(x, out)
    assert 0 < hit.sum() < 200
    assert torch.equal(out[~hit], x[~hit])


# --- RandomResizedCrop ----------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [8, 24, (10, 14)])
def test_crop_output_size(channels, size):
    out = RandomResizedCrop(size)(images(4, channels, 16, 20), gen())
    hw = (size, size) if isinstance(size, int) else size
    assert out.shape == (4, channels, *hw)


@pytest.mark.parametrize("channels", [1, 3])
def test_whole_image_crop_without_flip_is_identity(channels):
    x = images(5, channels, 16, 16)
    crop = RandomResizedCrop(16, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0.0)
    torch.testing.assert_close(crop(x, gen()), x, atol=1e-5, rtol=0)


def test_whole_image_crop_with_flip_is_horizontal_flip():
    x = images(5, 3, 12, 12)
    crop = RandomResizedCrop(12, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=1.0)
    torch.testing.assert_close(crop(x, gen()), x.flip(-1), atol=1e-5, rtol=0)


def test_flip_at_half_flips_about_half():
    x = images(2000, 1, 4, 4)
    crop = RandomResizedCrop(4, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0.5)
    out = crop(x, gen())
    same = (out - x).abs().flatten(1).amax(1) < 1e-5
    flipped = (out - x.flip(-1)).abs().flatten(1).amax(1) < 1e-5
    assert (same ^ flipped).all()
    assert 0.45 < flipped.float().mean().item() < 0.55


def test_integer_box_crop_matches_slicing():
    # A box with the output's own size, at integer offsets, samples pixel centres exactly.
    x = images(1, 3, 20, 20)
    crop = RandomResizedCrop(10, scale=(0.25, 0.25), ratio=(1.0, 1.0), flip_p=0.0)
    g = gen(4)
    top, left, h, w = crop.boxes(1, 20, 20, gen(4), x.device)[0].long().tolist()
    assert (h, w) == (10, 10)
    out = crop(x, g)
    torch.testing.assert_close(out, x[:, :, top : top + h, left : left + w], atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("height", "width", "scale", "ratio"),
    [
        (100, 120, (0.08, 1.0), (3 / 4, 4 / 3)),
        (100, 120, (0.2, 0.5), (3 / 4, 4 / 3)),
        (64, 64, (0.3, 0.6), (0.5, 2.0)),
        (30, 90, (0.05, 0.3), (1.0, 1.0)),
    ],
)
def test_crop_boxes_inside_image_with_area_and_ratio_in_range(height, width, scale, ratio):
    n = 4000
    crop = RandomResizedCrop(16, scale=scale, ratio=ratio)
    top, left, h, w = crop.boxes(n, height, width, gen(), torch.device("cpu")).unbind(1)
    for v in (top, left, h, w):
        assert torch.equal(v, v.round())  # whole pixels
    assert (top >= 0).all() and (left >= 0).all()
    assert (h >= 1).all() and (w >= 1).all()
    assert (top + h <= height).all() and (left + w <= width).all()
    # Rounding h and w to whole pixels moves the area by at most (h + w) / 2 + 1/4 pixels.
    area = h * w / (height * width)
    slack = ((h + w) / 2 + 0.25) / (height * width)
    assert (area >= scale[0] - slack).all() and (area <= scale[1] + slack).all()
    assert area.min() < scale[0] + 0.02 and area.max() > scale[1] - 0.02  # range is used
    aspect = w / h
    assert (aspect >= ratio[0] * (1 - 1.5 / h.clamp(max=w))).all()
    assert (aspect <= ratio[1] * (1 + 1.5 / h.clamp(max=w))).all()


def test_crop_positions_cover_the_image():
    crop = RandomResizedCrop(8, scale=(0.1, 0.1), ratio=(1.0, 1.0))
    top, left, h, w = crop.boxes(4000, 50, 50, gen(), torch.device("cpu")).unbind(1)
    assert top.min() == 0 and left.min() == 0
    assert (top + h).max() == 50 and (left + w).max() == 50


def test_crop_falls_back_to_whole_image_when_no_box_fits():
    crop = RandomResizedCrop(8, scale=(1.0, 1.0), ratio=(2.0, 2.0))
    boxes = crop.boxes(10, 20, 20, gen(), torch.device("cpu"))
    assert torch.equal(boxes, torch.tensor([[0.0, 0.0, 20.0, 20.0]]).expand(10, -1))


# --- ColorJitter and hue --------------------------------------------------------------


def test_jitter_on_grayscale_runs_and_only_scales_brightness():
    x = 0.1 + 0.4 * images(32, 1, 8, 8)  # x * 1.4 stays below 1: no clamping
    out = ColorJitter(brightness=0.4, contrast=0, saturation=0.4, hue=0.1, p=1.0)(x, gen())
    assert out.shape == x.shape
    factor = out / x
    per_sample = factor.flatten(1)
    torch.testing.assert_close(per_sample, per_sample[:, :1].expand_as(per_sample))
    assert (per_sample[:, 0] >= 0.6 - 1e-6).all() and (per_sample[:, 0] <= 1.4 + 1e-6).all()
    assert per_sample[:, 0].std() > 0.05  # different factors per sample


def test_jitter_on_grayscale_contrast_keeps_the_mean():
    x = 0.3 + 0.4 * images(32, 1, 8, 8)  # contrast 1.4 stays inside [0, 1]
    out = ColorJitter(brightness=0, contrast=0.4, saturation=0.4, hue=0.1, p=1.0)(x, gen())
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    torch.testing.assert_close(out.mean(dim=(1, 2, 3), keepdim=True), mean)
    factor = ((out - mean) / (x - mean)).flatten(1)
    torch.testing.assert_close(factor, factor[:, :1].expand_as(factor), atol=1e-3, rtol=1e-3)


def test_jitter_on_grayscale_ignores_saturation_and_hue():
    x = images(16, 1, 8, 8)
    out = ColorJitter(brightness=0, contrast=0, saturation=0.9, hue=0.5, p=1.0)(x, gen())
    assert torch.equal(out, x)


def test_brightness_scales_all_rgb_channels_alike():
    x = 0.1 + 0.4 * images(16, 3, 6, 6)
    out = ColorJitter(brightness=0.4, contrast=0, saturation=0, hue=0, p=1.0)(x, gen())
    factor = (out / x).flatten(1)
    torch.testing.assert_close(factor, factor[:, :1].expand_as(factor))


def test_saturation_keeps_luma_and_zero_saturation_is_gray():
    x = 0.3 + 0.4 * images(16, 3, 6, 6)
    out = ColorJitter(brightness=0, contrast=0, saturation=0.3, hue=0, p=1.0)(x, gen())
    torch.testing.assert_close(grayscale(out), grayscale(x), atol=1e-5, rtol=0)
    gray = ColorJitter(brightness=0, contrast=0, saturation=1.0, hue=0, p=1.0)
    # With factor 1 - 1 = 0 the image is its luma; factors are uniform in [0, 2] here, so
    # check the identity on the lerp directly: each pixel moves along the line to its luma.
    out = gray(x, gen())
    direction = (out - x) / (grayscale(x) - x)
    per_sample = direction.flatten(1)
    torch.testing.assert_close(
        per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-3, rtol=1e-3
    )


def test_hue_jitter_keeps_luma():
    x = 0.4 + 0.2 * images(16, 3, 6, 6)  # low chroma: the rotation never clamps
    out = ColorJitter(brightness=0, contrast=0, saturation=0, hue=0.5, p=1.0)(x, gen())
    assert changed(x, out).all()
    torch.testing.assert_close(grayscale(out), grayscale(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("turns", [0.0, 1.0, -1.0, 2.0])
def test_rotate_hue_by_whole_turns_is_identity(turns):
    x = images(4, 3, 5, 5)
    out = rotate_hue(x, torch.full((4,), turns))
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_rotate_hue_keeps_luma_and_grays_and_composes():
    x = 0.4 + 0.2 * images(6, 3, 5, 5)
    turns = torch.tensor([0.1, 0.25, 0.5, -0.3, 0.7, 0.05])
    out = rotate_hue(x, turns)
    assert changed(x, out).all()
    torch.testing.assert_close(grayscale(out), grayscale(x), atol=1e-5, rtol=0)
    # Gray pixels have no chroma to rotate.
    gray = grayscale(x).expand(-1, 3, -1, -1).contiguous()
    torch.testing.assert_close(rotate_hue(gray, turns), gray, atol=1e-5, rtol=0)
    # Rotating by a then b is rotating by a + b; and back by -a undoes it.
    twice = rotate_hue(rotate_hue(x, turns), 0.5 * turns)
    torch.testing.assert_close(twice, rotate_hue(x, 1.5 * turns), atol=1e-5, rtol=0)
    torch.testing.assert_close(rotate_hue(out, -turns), x, atol=1e-5, rtol=0)


def test_rotate_hue_per_sample_angles():
    x = repeated(3, 3, 4, 4) * 0.2 + 0.4
    out = rotate_hue(x, torch.tensor([0.0, 0.2, 0.4]))
    torch.testing.assert_close(out[0], x[0], atol=1e-5, rtol=0)
    assert not torch.allclose(out[1], out[2])


# --- RandomGrayscale ------------------------------------------------------------------


def test_grayscale_luma_weights():
    rgb = torch.eye(3).view(3, 3, 1, 1)
    torch.testing.assert_close(grayscale(rgb).flatten(), torch.tensor([0.299, 0.587, 0.114]))


def test_random_grayscale_p1_gives_equal_channels_of_luma():
    x = images(8)
    out = RandomGrayscale(p=1.0)(x, gen())
    assert out.shape == x.shape
    torch.testing.assert_close(out, grayscale(x).expand_as(x))
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])


def test_random_grayscale_passes_grayscale_input_through():
    x = images(8, 1)
    assert torch.equal(RandomGrayscale(p=1.0)(x, gen()), x)


# --- GaussianBlur ---------------------------------------------------------------------


def reference_blur(x: torch.Tensor, sigma: float, radius: int) -> torch.Tensor:
    """2-D convolution of every channel with a normalised Gaussian, reflect padding."""
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = torch.outer(taps, taps)
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    weight = kernel.expand(c, 1, -1, -1).contiguous()
    padded = F.pad(x.double(), (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(padded, weight, groups=c).float()


@pytest.mark.parametrize(
    ("channels", "height", "width", "kernel_size", "sigma"),
    [
        (3, 16, 16, 5, 1.0),
        (1, 12, 17, 7, 1.5),
        (3, 9, 6, 3, 0.7),
        (3, 32, 32, None, 1.0),  # default kernel: 10% of the side, odd, >= 3
        (1, 4, 5, 9, 2.0),  # kernel larger than the image: radius clamped to side - 1
    ],
)
def test_blur_matches_reference_convolution(channels, height, width, kernel_size, sigma):
    x = images(3, channels, height, width)
    blur = GaussianBlur(kernel_size=kernel_size, sigma=(sigma, sigma), p=1.0)
    radius = blur.radius(height, width)
    assert radius == min((kernel_size or 3) // 2, min(height, width) - 1)
    out = blur(x, gen())
    for i in range(3):
        expected = reference_blur(x[i : i + 1], sigma, radius)
        torch.testing.assert_close(out[i : i + 1], expected, atol=1e-5, rtol=0)


def test_blur_matrix_rows_are_reflected_gaussians():
    sigma = torch.tensor([0.8, 1.6])
    size, radius = 7, 3
    matrix = _blur_matrix(sigma, size, radius)
    assert matrix.shape == (2, size, size)
    torch.testing.assert_close(matrix.sum(2), torch.ones(2, size))
    # Slow reference: loop over rows and taps, reflecting indices at the borders.
    for b, s in enumerate(sigma.tolist()):
        taps = [math.exp(-(k**2) / (2 * s**2)) for k in range(-radius, radius + 1)]
        total = sum(taps)
        expected = torch.zeros(size, size)
        for i in range(size):
            for k, tap in zip(range(-radius, radius + 1), taps, strict=True):
                j = i + k
                j = -j if j < 0 else j
                j = 2 * (size - 1) - j if j >= size else j
                expected[i, j] += tap / total
        torch.testing.assert_close(matrix[b], expected)


def test_blur_preserves_constant_image_and_roughly_the_mean():
    constant = torch.full((4, 3, 10, 12), 0.37)
    blur = GaussianBlur(kernel_size=5, sigma=(0.1, 2.0), p=1.0)
    torch.testing.assert_close(blur(constant, gen()), constant, atol=1e-6, rtol=0)
    x = images(16, 3, 24, 24)
    out = blur(x, gen())
    torch.testing.assert_close(out.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=0.01, rtol=0)
    assert out.std() < x.std()  # blurring smooths noise


def test_blur_strength_follows_sigma():
    x = images(1, 1, 24, 24).expand(2, -1, -1, -1)
    weak = GaussianBlur(kernel_size=9, sigma=(0.5, 0.5), p=1.0)(x, gen())
    strong = GaussianBlur(kernel_size=9, sigma=(2.0, 2.0), p=1.0)(x, gen())
    assert strong.std() < weak.std() < x.std()


# --- RandomSolarize -------------------------------------------------------------------


def test_solarize_inverts_exactly_the_pixels_at_or_above_threshold():
    x = images(8, 3, 6, 6)
    x[:, 0, 0, 0] = 0.25  # exactly at the threshold: inverted
    x[:, 0, 0, 1] = 0.2499  # just below: kept
    out = RandomSolarize(threshold=0.25, p=1.0)(x, gen())
    expected = torch.where(x >= 0.25, 1.0 - x, x)
    assert torch.equal(out, expected)
    assert (out[:, 0, 0, 0] == 0.75).all()
    assert (out[:, 0, 0, 1] == x[:, 0, 0, 1]).all()


@pytest.mark.parametrize("threshold", [0.0, 1.0])
def test_solarize_threshold_extremes(threshold):
    x = images(4, 1, 5, 5)
    out = RandomSolarize(threshold=threshold, p=1.0)(x, gen())
    assert torch.equal(out, 1.0 - x if threshold == 0.0 else x)


# --- Normalize ------------------------------------------------------------------------


def test_normalize_per_channel():
    x = images(4, 3)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.25, 0.5)
    out = Normalize(mean, std)(x)
    for c in range(3):
        torch.testing.assert_close(out[:, c], (x[:, c] - mean[c]) / std[c])


def test_normalize_single_value_applies_to_every_channel():
    x = images(2, 3)
    torch.testing.assert_close(Normalize([0.5], [0.25])(x, gen()), (x - 0.5) / 0.25)


def test_normalize_channel_mismatch_raises():
    with pytest.raises(ValueError, match="channels"):
        Normalize((0.5, 0.5), (0.2, 0.2))(images(2, 3))


# --- argument validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: RandomResizedCrop(8, scale=(0.5, 0.2)), "scale"),
        (lambda: RandomResizedCrop(8, scale=(0.0, 0.0)), "scale"),
        (lambda: RandomResizedCrop(8, scale=(0.5, 1.5)), "scale"),
        (lambda: RandomResizedCrop(8, ratio=(2.0, 1.0)), "ratio"),
        (lambda: RandomResizedCrop(8, ratio=(0.0, 1.0)), "ratio"),
        (lambda: RandomResizedCrop(0), "size"),
        (lambda: RandomResizedCrop(8, flip_p=1.5), "flip_p"),
        (lambda: ColorJitter(brightness=-0.1), "brightness"),
        (lambda: ColorJitter(contrast=-1.0), "contrast"),
        (lambda: ColorJitter(saturation=-0.5), "saturation"),
        (lambda: ColorJitter(hue=0.6), "hue"),
        (lambda: ColorJitter(p=1.5), "p"),
        (lambda: RandomGrayscale(p=-0.1), "p"),
        (lambda: GaussianBlur(kernel_size=4), "kernel_size"),
        (lambda: GaussianBlur(kernel_size=0), "kernel_size"),
        (lambda: GaussianBlur(sigma=(0.0, 1.0)), "sigma"),
        (lambda: GaussianBlur(sigma=(2.0, 1.0)), "sigma"),
        (lambda: GaussianBlur(p=1.5), "p"),
        (lambda: RandomSolarize(threshold=1.5), "threshold"),
        (lambda: RandomSolarize(p=2.0), "p"),
        (lambda: Normalize((0.5,), (0.0,)), "std"),
        (lambda: Normalize((0.5, 0.5), (0.2,)), "std"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_the_argument(make, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        make()


# --- RandomStrokeWidth ------------------------------------------------------------------


def _window_extreme(x: torch.Tensor, biggest: bool) -> torch.Tensor:
    """Plain reference: each pixel's max (or min) over its 3x3 window inside the image."""
    out = torch.empty_like(x)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            window = x[..., max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].flatten(-2)
            out[..., i, j] = window.amax(-1) if biggest else window.amin(-1)
    return out


@pytest.mark.parametrize("channels", [1, 3])
def test_stroke_width_is_a_3x3_dilation_or_erosion_per_sample(channels):
    x = images(64, channels, 7, 9)
    out = RandomStrokeWidth(p=1.0)(x, gen(4))
    wider, thinner = _window_extreme(x, True), _window_extreme(x, False)
    is_wider = (out == wider).flatten(1).all(1)
    is_thinner = (out == thinner).flatten(1).all(1)
    assert (is_wider ^ is_thinner).all()  # each sample is exactly one of the two
    assert 20 < is_wider.sum() < 44  # about half each (binomial std 4)


def test_stroke_width_thickens_or_thins_a_line_by_one_pixel_a_side():
    x = torch.zeros(200, 1, 9, 9)
    x[:, :, 3:6, 1:8] = 1.0  # a bar 3 px thick
    ink = RandomStrokeWidth(p=1.0)(x, gen(1)).sum((1, 2, 3))
    assert set(ink.tolist()) == {9.0 * 5, 1.0 * 5}  # 5 rows x 9 columns, or 1 x 5
