from __future__ import annotations

import pytest
import torch

from contrastkit.encoders.audio import LogMel
from contrastkit.views.audio import (
    AudioViews,
    add_noise,
    frequency_mask,
    mix_batch,
    random_crop,
    random_gain,
    speed_change,
    time_mask,
    time_shift,
)


def _clips(b: int = 8, t: int = 4000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(b, t, generator=g)


def _spec(b: int = 8) -> torch.Tensor:
    return torch.randn(b, 1, 40, 26, generator=torch.Generator().manual_seed(1))


WAVE_OPS = {
    "crop": lambda x, g: random_crop(x, g, min_scale=0.5, p=1.0),
    "gain": lambda x, g: random_gain(x, g, p=1.0),
    "noise": lambda x, g: add_noise(x, g, p=1.0),
    "shift": lambda x, g: time_shift(x, g, max_fraction=0.2, p=1.0),
    "speed": lambda x, g: speed_change(x, g, semitones=3.0, p=1.0),
    "mix": lambda x, g: mix_batch(x, g, max_weight=0.3, p=1.0),
}
SPEC_OPS = {
    "time_mask": lambda s, g: time_mask(s, g, count=2, max_fraction=0.3, p=1.0),
    "freq_mask": lambda s, g: frequency_mask(s, g, count=2, max_fraction=0.3, p=1.0),
}


def _cases():
    for name, op in WAVE_OPS.items():
        yield pytest.param(op, _clips, id=name)
    for name, op in SPEC_OPS.items():
        yield pytest.param(op, _spec, id=name)


@pytest.mark.parametrize(("op", "make"), list(_cases()))
def test_view_keeps_shape_dtype_differs_per_sample_and_repeats(op, make) -> None:
    x = make()
    out = op(x, torch.Generator().manual_seed(3))
    assert out.shape == x.shape and out.dtype == x.dtype
    again = op(x, torch.Generator().manual_seed(3))
    assert torch.equal(out, again)
    other = op(x, torch.Generator().manual_seed(4))
    assert not torch.equal(out, other)
    # per-sample randomness: the same clip in every row is changed differently per row
    # (mixing identical clips changes nothing: see test_mix_weights_differ_per_sample)
    if op is not WAVE_OPS["mix"]:
        same = make()[:1].expand_as(x).contiguous()
        rows = op(same, torch.Generator().manual_seed(5)).flatten(1)
        assert len({tuple(r.tolist()) for r in rows}) > 1


def test_mix_weights_differ_per_sample() -> None:
    x = torch.eye(16)  # orthogonal clips: row i of the mix keeps 1 - w_i of clip i
    kept = mix_batch(x, torch.Generator().manual_seed(0), max_weight=0.3, p=1.0).diagonal()
    assert kept.min() >= 0.7 - 1e-6 and kept.unique().numel() > 8


@pytest.mark.parametrize(("op", "make"), list(_cases()))
def test_view_keeps_float64(op, make) -> None:
    x = make().double()
    assert op(x, torch.Generator().manual_seed(0)).dtype == torch.float64


def test_probability_zero_is_identity() -> None:
    x, s, g = _clips(), _spec(), torch.Generator().manual_seed(0)
    for out in (
        random_crop(x, g, p=0.0),
        random_gain(x, g, p=0.0),
        add_noise(x, g, p=0.0),
        time_shift(x, g, p=0.0),
        speed_change(x, g, p=0.0),
        mix_batch(x, g, p=0.0),
    ):
        assert torch.allclose(out, x)
    assert torch.equal(time_mask(s, g, p=0.0), s) and torch.equal(frequency_mask(s, g, p=0.0), s)


def test_gain_stays_in_range_and_mix_weight_is_small() -> None:
    x, g = _clips(64), torch.Generator().manual_seed(0)
    ratio = random_gain(x, g, db=(-6.0, 6.0)).norm(dim=1) / x.norm(dim=1)
    assert ratio.min() >= 10 ** (-6 / 20) - 1e-5 and ratio.max() <= 10 ** (6 / 20) + 1e-5
    assert ratio.std() > 0.1
    mixed = mix_batch(x, g, max_weight=0.2, p=1.0)
    # each row stays closest to its own clip
    dist = torch.cdist(mixed, x)
    assert torch.equal(dist.argmin(dim=1), torch.arange(64))


def test_noise_snr_and_shift_and_crop_semantics() -> None:
    x, g = _clips(16, 8000), torch.Generator().manual_seed(0)
    noisy = add_noise(x, g, snr_db=(20.0, 20.0), p=1.0)
    snr = 10 * torch.log10(x.square().mean(1) / (noisy - x).square().mean(1))
    assert torch.allclose(snr, torch.full_like(snr, 20.0), atol=0.5)
    ramp = torch.arange(1.0, 101.0).expand(4, 100).contiguous()
    shifted = time_shift(ramp, g, max_fraction=0.3, p=1.0)
    for row in shifted:  # a shifted copy: consecutive values with zeros at one end
        kept = row[row != 0]
        assert torch.all(kept.diff() == 1)
    cropped = random_crop(ramp, g, min_scale=0.5, p=1.0)
    for row in cropped:
        kept = row[row != 0]
        assert len(kept) >= 50 and torch.all(kept.diff() == 1)


def test_masks_cover_at_most_their_budget() -> None:
    s = torch.ones(32, 1, 40, 50)
    g = torch.Generator().manual_seed(0)
    masked = time_mask(s, g, count=2, max_fraction=0.1, p=1.0)
    frames_masked = (masked[:, 0, 0, :] == 0).sum(1)
    assert frames_masked.max() <= 10 and frames_masked.sum() > 0
    assert torch.all((masked == 0).all(dim=2) == (masked[:, :, :1] == 0).all(dim=2))
    bands = (frequency_mask(s, g, count=1, max_fraction=0.25, p=1.0)[:, 0, :, 0] == 0).sum(1)
    assert bands.max() <= 10 and bands.sum() > 0


def test_audio_views_make_spectrogram_views() -> None:
    x = _clips(8, 16000)
    views = AudioViews(LogMel(16000, n_mels=40, hop=320))
    v1, v2 = views(x, torch.Generator().manual_seed(0))
    assert v1.shape == (8, 1, 40, 51) and v1.dtype == torch.float32
    assert not torch.allclose(v1, v2)
    w1, w2 = views(x, torch.Generator().manual_seed(0))
    assert torch.equal(v1, w1) and torch.equal(v2, w2)
    waves = AudioViews(None, n_views=3)(x, torch.Generator().manual_seed(0))
    assert len(waves) == 3 and all(w.shape == x.shape for w in waves)


def test_audio_views_validate() -> None:
    with pytest.raises(ValueError, match="mix_weight"):
        AudioViews(mix_weight=0.6)
    with pytest.raises(ValueError, match="crop_min_scale"):
        AudioViews(crop_min_scale=0.0)


@pytest.mark.parametrize("name", ["crop", "noise", "shift", "speed"])
def test_rows_not_chosen_are_left_exactly_as_they_were(name: str) -> None:
    """With 0 < p < 1 an augmentation changes some rows and returns the others untouched
    (these four compute only the rows they change)."""
    make = {
        "crop": lambda x, g: random_crop(x, g, min_scale=0.5, p=0.5),
        "noise": lambda x, g: add_noise(x, g, p=0.5),
        "shift": lambda x, g: time_shift(x, g, max_fraction=0.2, p=0.5),
        "speed": lambda x, g: speed_change(x, g, semitones=3.0, p=0.5),
    }[name]
    level = 10.0 * torch.arange(1.0, 65.0)[:, None]  # each row around its own level
    x = _clips(64) + level
    out = make(x, torch.Generator().manual_seed(5))
    same = (out == x).all(dim=1)
    assert 10 < int(same.sum()) < 54, int(same.sum())  # about half of 64 each way
    assert torch.equal(out, make(x, torch.Generator().manual_seed(5)))
    # every changed row is made from its own clip: its samples stay at that row's level
    if name == "noise":
        assert torch.all((out.mean(dim=1, keepdim=True) - level).abs() < 0.05 * level)
    else:  # crops, shifts and resampling zero-fill; the rest are the row's own samples
        kept = out != 0
        assert torch.all(((out - level).abs() < 2.0) | ~kept)
