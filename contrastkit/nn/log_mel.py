"""A pure-torch log-mel front end: waveforms to log-mel spectrograms, no parameters.

Shared by the audio encoder (which embeds waveforms) and the audio views (which augment
the waveform, run the front end, then mask the spectrogram).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["LogMel", "mel_filterbank"]


def _hz_to_mel(hz: Tensor) -> Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: Tensor) -> Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    n_mels: int, n_fft: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None
) -> Tensor:
    """Triangular filters equally spaced on the HTK mel scale, each with peak 1.

    Args:
        n_mels: number of filters.
        n_fft: FFT size; the filters cover its n_fft // 2 + 1 frequency bins.
        sample_rate: in Hz.
        f_min, f_max: edges of the lowest and highest filter in Hz (f_max default Nyquist).

    Returns:
        (n_mels, n_fft // 2 + 1) float32 weights.
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(
            f"need 0 <= f_min < f_max <= sample_rate / 2, got f_min={f_min}, f_max={f_max}"
        )
    bins = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = _mel_to_hz(
        torch.linspace(
            float(_hz_to_mel(torch.tensor(f_min))),
            float(_hz_to_mel(torch.tensor(f_max))),
            n_mels + 2,
            dtype=torch.float64,
        )
    )
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - low) / (centre - low)
    falling = (high - bins) / (high - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


class LogMel(nn.Module):
    """Waveforms (B, T) to log-mel spectrograms (B, 1, n_mels, frames), no parameters.

    Power STFT (Hann window, centred frames) -> mel filterbank -> log(mel + eps); with
    `normalize`, each spectrogram is standardised by its own mean and std, which removes
    the overall gain (a gain multiplies the power, i.e. adds a constant to the log).

    Args:
        sample_rate: of the waveforms, in Hz.
        n_fft: FFT size (and window length) in samples.
        hop: samples between frames; frames = T // hop + 1.
        n_mels: mel bands.
        f_min, f_max: frequency range of the filterbank in Hz.
        eps: floor added to the mel power before the log.
        normalize: standardise each spectrogram.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        *,
        n_fft: int = 512,
        hop: int = 256,
        n_mels: int = 48,
        f_min: float = 30.0,
        f_max: float | None = None,
        eps: float = 1e-6,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        if n_fft < 8 or hop < 1 or n_mels < 1:
            raise ValueError(
                f"need n_fft >= 8, hop >= 1, n_mels >= 1; got {n_fft}, {hop}, {n_mels}"
            )
        self.sample_rate, self.n_fft, self.hop, self.n_mels = sample_rate, n_fft, hop, n_mels
        self.eps, self.normalize = eps, normalize
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer(
            "filters", mel_filterbank(n_mels, n_fft, sample_rate, f_min, f_max), persistent=False
        )

    def frames(self, samples: int) -> int:
        """Number of spectrogram frames for clips of `samples` samples."""
        return samples // self.hop + 1

    def forward(self, wave: Tensor) -> Tensor:
        """(B, T) float waveforms -> (B, 1, n_mels, T // hop + 1) float32 log-mel."""
        if wave.dim() != 2:
            raise ValueError(f"LogMel expects waveforms (B, T), got shape {tuple(wave.shape)}")
        spec = torch.stft(
            wave.float(),
            self.n_fft,
            hop_length=self.hop,
            window=self.window,
            center=True,
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # (B, n_fft // 2 + 1, frames)
        logmel = torch.log(torch.matmul(self.filters, power) + self.eps)
        if self.normalize:
            mean = logmel.mean(dim=(1, 2), keepdim=True)
            std = logmel.std(dim=(1, 2), keepdim=True).clamp_min(1e-5)
            logmel = (logmel - mean) / std
        return logmel.unsqueeze(1)
