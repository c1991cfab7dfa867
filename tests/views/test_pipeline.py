"""View pipelines: Compose, to_float, EvalPreprocess and ImageViews (SimCLR preset, multi-crop)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.views import (
    Compose,
    EvalPreprocess,
    ImageViews,
    Normalize,
    RandomResizedCrop,
    RandomSolarize,
    ViewSettings,
    to_float,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _uint8(n: int, c: int, h: int, w: int | None = None, seed: int = 0) -> torch.Tensor:
    w = h if w is None else w
    return torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8, generator=_gen(seed + 99))


# ---------------------------------------------------------------- to_float and Compose


def test_to_float_scales_uint8_and_keeps_float() -> None:
    x = torch.tensor([0, 51, 255], dtype=torch.uint8).view(1, 1, 1, 3)
    out = to_float(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.view(-1), torch.tensor([0.0, 0.2, 1.0]))
    y = torch.rand(2, 1, 3, 3, dtype=torch.float64)
    assert to_float(y).dtype == torch.float32
    torch.testing.assert_close(to_float(y), y.float())


def test_compose_applies_in_order_with_one_generator() -> None:
    x = torch.rand(4, 3, 6, 6, generator=_gen(1))
    solarize = RandomSolarize(threshold=0.0, p=1.0)  # x -> 1 - x
    norm = Normalize([0.5], [0.5])
    out = Compose([solarize, norm])(x, _gen())
    torch.testing.assert_close(out, ((1 - x) - 0.5) / 0.5)
    assert repr(Compose([solarize, norm])) == "Compose([RandomSolarize, Normalize])"


# ---------------------------------------------------------------- ImageViews


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("image_size", "view_size"), [(28, 28), (28, 16), (8, 12)])
def test_simclr_views_on_uint8_shapes_and_range(
    channels: int, image_size: int, view_size: int
) -> None:
    views = ImageViews.simclr(size=view_size)
    out = views(_uint8(8, channels, image_size), _gen())
    assert isinstance(out, list) and len(out) == 2 == views.n_views
    for v in out:
        assert v.shape == (8, channels, view_size, view_size)
        assert v.dtype == torch.float32
        assert v.min() >= 0 and v.max() <= 1  # no mean/std given: not normalised
    assert not torch.equal(out[0], out[1])  # the two views are drawn independently


def test_views_accept_float_input_and_non_square_images() -> None:
    out = ImageViews.simclr(size=10)(torch.rand(3, 3, 12, 20, generator=_gen()), _gen())
    assert [v.shape for v in out] == [(3, 3, 10, 10)] * 2


@pytest.mark.parametrize("n_views", [1, 3, 5])
def test_one_transform_repeated_n_views(n_views: int) -> None:
    views = ImageViews(RandomResizedCrop(6), n_views=n_views)
    out = views(_uint8(4, 1, 8), _gen())
    assert views.n_views == n_views == len(out)
    assert all(v.shape == (4, 1, 6, 6) for v in out)


def test_one_transform_per_view() -> None:
    views = ImageViews([RandomResizedCrop(6), RandomResizedCrop(4), RandomResizedCrop(3)])
    out = views(_uint8(2, 3, 8), _gen())
    assert [tuple(v.shape[-2:]) for v in out] == [(6, 6), (4, 4), (3, 3)]


def test_views_same_seed_same_output_different_seed_different() -> None:
    images = _uint8(16, 3, 16)
    views = ImageViews.simclr(size=12, solarize_p=0.2)
    a, b, c = views(images, _gen(5)), views(images, _gen(5)), views(images, _gen(6))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not any(torch.equal(x, z) for x, z in zip(a, c, strict=True))


def test_views_draw_per_sample_on_a_repeated_image() -> None:
    images = _uint8(1, 3, 16).expand(10, -1, -1, -1).contiguous()
    for view in ImageViews.simclr(size=16)(images, _gen()):
        rows = view.flatten(1)
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                assert not torch.equal(rows[i], rows[j])


def test_views_normalise_with_given_mean_and_std() -> None:
    # Everything off but normalisation and a full, unflipped crop: the view is (x - m) / s.
    views = ImageViews.simclr(
        size=8,
        crop_scale=(1.0, 1.0),
        crop_ratio=(1.0, 1.0),
        flip_p=0,
        jitter_p=0,
        grayscale_p=0,
        blur_p=0,
        mean=(0.5, 0.4, 0.3),
        std=(0.2, 0.25, 0.5),
    )
    images = _uint8(4, 3, 8)
    x = images.float() / 255
    expected = (x - torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)) / torch.tensor(
        [0.2, 0.25, 0.5]
    ).view(1, 3, 1, 1)
    for v in views(images, _gen()):
        torch.testing.assert_close(v, expected, atol=1e-5, rtol=1e-5)


def test_simclr_pipeline_holds_the_paper_steps() -> None:
    views = ImageViews.simclr(size=32)
    names = [type(t).__name__ for t in views.transforms[0].transforms]
    assert names == ["RandomResizedCrop", "ColorJitter", "RandomGrayscale", "GaussianBlur"]
    with_extras = ImageViews.simclr(size=32, solarize_p=0.1, mean=(0.5,), std=(0.5,))
    names = [type(t).__name__ for t in with_extras.transforms[0].transforms]
    assert names[-2:] == ["RandomSolarize", "Normalize"]
    crop = views.transforms[0].transforms[0]
    assert crop.scale == (0.08, 1.0) and crop.flip_p == 0.5


def test_multi_crop_adds_small_local_views() -> None:
    settings = ViewSettings(size=16, n_views=2, local_views=3, local_size=6)
    views = ImageViews.from_settings(settings)
    out = views(_uint8(4, 1, 16), _gen())
    assert views.n_views == 5
    assert [tuple(v.shape) for v in out] == [(4, 1, 16, 16)] * 2 + [(4, 1, 6, 6)] * 3


def test_image_views_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="n_views"):
        ImageViews(RandomResizedCrop(4), n_views=0)
    with pytest.raises(ValueError, match="transform"):
        ImageViews([])
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        ImageViews.simclr(size=4)(torch.zeros(1, 8, 8, dtype=torch.uint8), _gen())


def test_simclr_rejects_unknown_setting() -> None:
    with pytest.raises(TypeError, match="not_a_setting"):
        ImageViews.simclr(size=8, not_a_setting=1)


def test_invalid_settings_raise_value_error_naming_the_argument() -> None:
    with pytest.raises(ValueError, match=r"\bscale\b"):
        ImageViews.simclr(size=8, crop_scale=(0.5, 0.2))
    with pytest.raises(ValueError, match=r"\bp\b"):
        ImageViews.simclr(size=8, jitter_p=1.5)
    with pytest.raises(ValueError, match=r"\bflip_p\b"):
        ImageViews.simclr(size=8, flip_p=-0.1)


# ---------------------------------------------------------------- EvalPreprocess


def test_eval_preprocess_resizes_and_normalises_deterministically() -> None:
    images = _uint8(5, 3, 12, 9)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.3, 0.4)
    pre = EvalPreprocess(size=8, mean=mean, std=std)
    out = pre(images)
    assert out.shape == (5, 3, 8, 8) and out.dtype == torch.float32
    assert torch.equal(out, pre(images))  # no randomness
    x = F.interpolate(images.float() / 255, size=(8, 8), mode="bilinear", antialias=True)
    expected = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_eval_preprocess_keeps_matching_size_and_defaults_to_float() -> None:
    images = _uint8(3, 1, 8)
    torch.testing.assert_close(EvalPreprocess(size=8)(images), images.float() / 255)
    torch.testing.assert_close(EvalPreprocess()(images), images.float() / 255)


def test_eval_preprocess_needs_both_mean_and_std() -> None:
    images = _uint8(2, 1, 4)
    torch.testing.assert_close(EvalPreprocess(mean=[0.5])(images), images.float() / 255)


def test_views_preprocess_follows_settings() -> None:
    settings = ViewSettings(size=8, mean=(0.5,), std=(0.25,), eval_size=6)
    pre = ImageViews.from_settings(settings).preprocess
    images = _uint8(2, 1, 10)
    expected = (
        F.interpolate(images.float() / 255, size=(6, 6), mode="bilinear", antialias=True) - 0.5
    ) / 0.25
    torch.testing.assert_close(pre(images), expected, atol=1e-5, rtol=1e-5)
