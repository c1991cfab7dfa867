"""Audio views: batched, per-sample random augmentations of waveforms and log-mel spectrograms.

Every function takes a batch and a `torch.Generator` and draws one independent setting per
sample (applied with probability `p`), with no Python loop over samples; the costly ones
(crop, speed, noise, shift) compute only the rows they apply to. `AudioViews`
chains them: waveform augmentations (crop, gain, noise, shift, mixing), then the encoder's
log-mel front end, then time and frequency masking on the spectrogram. Its views are
log-mel spectrograms (B, 1, n_mels, frames), which `AudioEncoder` accepts directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.nn.log_mel import LogMel

__all__ = [
    "AudioViews",
    "add_noise",
    "frequency_mask",
    "mix_batch",
    "random_crop",
    "random_gain",
    "speed_change",
    "time_mask",
    "time_shift",
]


def _uniform(n: int, low: float, high: float, g: torch.Generator, device) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=g, device=device)


def _chosen(n: int, p: float, g: torch.Generator, device) -> Tensor:
    """(n,) bool: which samples an augmentation applies to."""
    return torch.rand(n, generator=g, device=device) < p


def _on_rows(x: Tensor, chosen: Tensor, fn: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """x (B, T) with the rows `chosen` (B,) bool replaced by fn(x[rows], rows), the others
    left as they are; fn sees only the rows it changes (rows: (k,) int64 indices)."""
    rows = chosen.nonzero().flatten()
    if len(rows) == len(x):
        return fn(x, rows)
    out = x.clone()
    if len(rows):
        out[rows] = fn(x[rows], rows)
    return out


def random_crop(x: Tensor, g: torch.Generator, *, min_scale: float = 0.6, p: float = 1.0) -> Tensor:
    """Keep a random window of each clip, at its start, zero-padded to the clip length.

    Args:
        x: (B, T) waveforms.
        min_scale: the window holds between min_scale * T and T samples, placed anywhere.

    Returns:
        (B, T), same dtype: window samples first, then zeros.
    """
    b, t = x.shape
    length = (t * _uniform(b, min_scale, 1.0, g, x.device)).long().clamp(1, t)
    chosen = _chosen(b, p, g, x.device)
    start = (torch.rand(b, generator=g, device=x.device) * (t - length + 1)).long()
    pos = torch.arange(t, device=x.device)

    def crop(rows_x: Tensor, rows: Tensor) -> Tensor:
        src = (start[rows, None] + pos[None, :]).clamp_max(t - 1)
        return rows_x.gather(1, src).masked_fill_(pos[None, :] >= length[rows, None], 0.0)

    return _on_rows(x, chosen, crop)


def random_gain(
    x: Tensor, g: torch.Generator, *, db: tuple[float, float] = (-12.0, 6.0), p: float = 1.0
) -> Tensor:
    """Multiply each clip (B, T) by a random gain drawn uniformly in decibels."""
    gain_db = _uniform(x.shape[0], *db, g, x.device)
    gain_db = torch.where(_chosen(x.shape[0], p, g, x.device), gain_db, torch.zeros_like(gain_db))
    return x * (10.0 ** (gain_db / 20.0)).to(x.dtype)[:, None]


def add_noise(
    x: Tensor,
    g: torch.Generator,
    *,
    snr_db: tuple[float, float] = (10.0, 40.0),
    p: float = 0.5,
) -> Tensor:
    """Add white Gaussian noise at a random signal-to-noise ratio (dB, vs the clip's RMS)."""
    b = x.shape[0]
    snr = _uniform(b, *snr_db, g, x.device)
    chosen = _chosen(b, p, g, x.device)

    def noise(rows_x: Tensor, rows: Tensor) -> Tensor:
        rms = rows_x.float().square().mean(dim=1).sqrt().clamp_min(1e-5)
        scale = rms / 10.0 ** (snr[rows] / 20.0)
        white = torch.randn(rows_x.shape, generator=g, device=x.device)
        return (rows_x + scale[:, None] * white).to(x.dtype)

    return _on_rows(x, chosen, noise)


def time_shift(
    x: Tensor, g: torch.Generator, *, max_fraction: float = 0.1, p: float = 0.5
) -> Tensor:
    """Delay or advance each clip (B, T) by up to max_fraction * T samples, zero-filled."""
    b, t = x.shape
    most = int(max_fraction * t)
    shift = torch.randint(-most, most + 1, (b,), generator=g, device=x.device)
    chosen = _chosen(b, p, g, x.device) & (shift != 0)

    def delay(rows_x: Tensor, rows: Tensor) -> Tensor:
        src = torch.arange(t, device=x.device)[None, :] - shift[rows, None]
        outside = (src < 0) | (src >= t)
        return rows_x.gather(1, src.clamp(0, t - 1)).masked_fill_(outside, 0.0)

    return _on_rows(x, chosen, delay)


def speed_change(
    x: Tensor, g: torch.Generator, *, semitones: float = 2.0, p: float = 0.5
) -> Tensor:
    """Play each clip (B, T) faster or slower (like a tape), shifting its pitch by up to
    +-`semitones`; linear interpolation, zero-filled past the end of the clip."""
    b, t = x.shape
    shift = _uniform(b, -semitones, semitones, g, x.device)
    chosen = _chosen(b, p, g, x.device) & (shift != 0)
    rate = 2.0 ** (shift / 12.0)

    def resample(rows_x: Tensor, rows: Tensor) -> Tensor:
        pos = torch.arange(t, device=x.device, dtype=torch.float32)[None, :] * rate[rows, None]
        left = pos.floor().long()
        frac = (pos - left).to(x.dtype)
        a = rows_x.gather(1, left.clamp_max(t - 1))
        c = rows_x.gather(1, (left + 1).clamp_max(t - 1))
        return a.lerp_(c, frac).masked_fill_(pos > t - 1, 0.0)

    return _on_rows(x, chosen, resample)


def mix_batch(x: Tensor, g: torch.Generator, *, max_weight: float = 0.3, p: float = 0.5) -> Tensor:
    """Mix each clip with another clip of the batch: (1 - w) * x_i + w * x_j, w <= max_weight.

    The partner j is a random permutation of the batch (possibly i itself, then unchanged);
    the weight w is uniform in [0, max_weight], so the clip stays the dominant source.
    """
    b = x.shape[0]
    partner = torch.randperm(b, generator=g, device=x.device)
    w = _uniform(b, 0.0, max_weight, g, x.device)
    w = torch.where(_chosen(b, p, g, x.device), w, torch.zeros_like(w)).to(x.dtype)[:, None]
    return (1 - w) * x + w * x[partner]


def _band_mask(
    size: int, b: int, count: int, max_width: int, g: torch.Generator, p: float, device
) -> Tensor:
    """(b, size) bool: `count` random bands of width < max_width per sample (with prob. p)."""
    pos = torch.arange(size, device=device)
    mask = torch.zeros(b, size, dtype=torch.bool, device=device)
    for _ in range(count):  # loop over masks, not samples
        width = torch.randint(0, max_width + 1, (b,), generator=g, device=device)
        width = torch.where(_chosen(b, p, g, device), width, torch.zeros_like(width))
        start = (torch.rand(b, generator=g, device=device) * (size - width + 1)).long()
        mask |= (pos[None, :] >= start[:, None]) & (pos[None, :] < (start + width)[:, None])
    return mask


def time_mask(
    spec: Tensor,
    g: torch.Generator,
    *,
    count: int = 2,
    max_fraction: float = 0.1,
    p: float = 0.8,
    value: float = 0.0,
) -> Tensor:
    """SpecAugment time masking: set random frame ranges of (B, C, F, T) spectrograms to
    `value` (0 is the mean of a normalised log-mel)."""
    b, t = spec.shape[0], spec.shape[-1]
    mask = _band_mask(t, b, count, int(max_fraction * t), g, p, spec.device)
    return spec.masked_fill(mask[:, None, None, :], value)


def frequency_mask(
    spec: Tensor,
    g: torch.Generator,
    *,
    count: int = 2,
    max_fraction: float = 0.1,
    p: float = 0.8,
    value: float = 0.0,
) -> Tensor:
    """SpecAugment frequency masking: set random mel-band ranges of (B, C, F, T) to `value`."""
    b, f = spec.shape[0], spec.shape[-2]
    mask = _band_mask(f, b, count, int(max_fraction * f), g, p, spec.device)
    return spec.masked_fill(mask[:, None, :, None], value)


@dataclass
class AudioViews:
    """Views of waveform clips for contrastive training: `views(x, generator) -> [v1, v2]`.

    Per view: random crop -> speed change (pitch shift) -> gain -> mixing with another clip
    of the batch -> noise -> time shift (waveform) -> `frontend` log-mel -> time and
    frequency masking (spectrogram).

    Args:
        frontend: the encoder's `LogMel` (views are spectrograms it makes); None returns
            the augmented waveforms instead (no masking).
        n_views: views per clip.
        crop_min_scale, p_crop: `random_crop`.
        semitones, p_speed: `speed_change` (0 semitones turns it off).
        gain_db, p_gain: `random_gain`.
        mix_weight, p_mix: `mix_batch`.
        noise_snr_db, p_noise: `add_noise`.
        shift_fraction, p_shift: `time_shift`.
        time_masks, time_mask_fraction, freq_masks, freq_mask_fraction, p_mask: masking.

    Example:
        >>> views = AudioViews(LogMel(16000))
        >>> v1, v2 = views(torch.randn(8, 16000), torch.Generator().manual_seed(0))
        >>> v1.shape
        torch.Size([8, 1, 48, 63])
    """

    frontend: LogMel | None = None
    n_views: int = 2
    crop_min_scale: float = 0.6
    p_crop: float = 0.8
    semitones: float = 2.0
    p_speed: float = 0.5
    gain_db: tuple[float, float] = (-12.0, 6.0)
    p_gain: float = 0.8
    mix_weight: float = 0.3
    p_mix: float = 0.5
    noise_snr_db: tuple[float, float] = (10.0, 40.0)
    p_noise: float = 0.5
    shift_fraction: float = 0.1
    p_shift: float = 0.5
    time_masks: int = 2
    time_mask_fraction: float = 0.1
    freq_masks: int = 2
    freq_mask_fraction: float = 0.1
    p_mask: float = 0.8

    def __post_init__(self) -> None:
        if self.n_views < 1:
            raise ValueError(f"n_views must be >= 1, got {self.n_views}")
        if not 0.0 < self.crop_min_scale <= 1.0:
            raise ValueError(f"crop_min_scale must be in (0, 1], got {self.crop_min_scale}")
        if not 0.0 <= self.mix_weight < 0.5:
            raise ValueError(f"mix_weight must be in [0, 0.5), got {self.mix_weight}")

    def waveform(self, x: Tensor, g: torch.Generator) -> Tensor:
        """(B, T) float waveforms -> (B, T) augmented waveforms."""
        x = random_crop(x, g, min_scale=self.crop_min_scale, p=self.p_crop)
        if self.semitones > 0:
            x = speed_change(x, g, semitones=self.semitones, p=self.p_speed)
        x = random_gain(x, g, db=self.gain_db, p=self.p_gain)
        x = mix_batch(x, g, max_weight=self.mix_weight, p=self.p_mix)
        x = add_noise(x, g, snr_db=self.noise_snr_db, p=self.p_noise)
        return time_shift(x, g, max_fraction=self.shift_fraction, p=self.p_shift)

    def spectrogram(self, spec: Tensor, g: torch.Generator) -> Tensor:
        """(B, 1, F, T) log-mel -> (B, 1, F, T) with time and frequency masks."""
        spec = time_mask(
            spec, g, count=self.time_masks, max_fraction=self.time_mask_fraction, p=self.p_mask
        )
        return frequency_mask(
            spec, g, count=self.freq_masks, max_fraction=self.freq_mask_fraction, p=self.p_mask
        )

    def one(self, x: Tensor, g: torch.Generator) -> Tensor:
        """One view of every clip of x (B, T)."""
        wave = self.waveform(x.float(), g)
        if self.frontend is None:
            return wave
        return self.spectrogram(self.frontend(wave), g)

    def __call__(self, x: Tensor, g: torch.Generator) -> list[Tensor]:
        """`n_views` views of the clips x (B, T)."""
        return [self.one(x, g) for _ in range(self.n_views)]
