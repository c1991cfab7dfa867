"""Audio encoder: a pure-torch log-mel front end and a small 2-D CNN on the spectrogram.

The encoder takes either waveforms (B, T), turned into log-mel spectrograms by its front
end, or spectrograms (B, 1, n_mels, frames) already made by that front end (audio views
augment the waveform, run the front end, then mask the spectrogram; see
`contrastkit.views.audio.AudioViews`).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import Tensor, nn

from contrastkit.nn.log_mel import LogMel, mel_filterbank

__all__ = ["AudioCNN", "AudioEncoder", "LogMel", "mel_filterbank"]


def _block(cin: int, cout: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class AudioCNN(nn.Module):
    """Small 2-D CNN on spectrograms (B, 1, F, T) -> (B, output_dim).

    Conv3x3-BN-ReLU blocks, 2x2 max pooling after all but the last, then mean and max
    pooling over frequency and time, concatenated (output_dim = 2 * widths[-1]).

    Args:
        widths: channels of the blocks.
    """

    def __init__(self, widths: tuple[int, ...] = (24, 48, 96, 128)) -> None:
        super().__init__()
        if not widths:
            raise ValueError("widths must name at least one block")
        chans = (1, *widths)
        self.features = nn.Sequential(
            *(_block(a, b, pool=i < len(widths) - 1) for i, (a, b) in enumerate(pairwise(chans)))
        )
        self.output_dim = 2 * widths[-1]

    def forward(self, spec: Tensor) -> Tensor:
        h = self.features(spec).flatten(2)  # (B, C, F' * T')
        return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)


class AudioEncoder(nn.Module):
    """Log-mel front end + `AudioCNN`: waveforms (B, T) or log-mel (B, 1, F, T) -> (B, D).

    Args:
        sample_rate: of the waveforms, in Hz.
        widths: CNN block channels; `output_dim` is 2 * widths[-1].
        **frontend: keyword arguments of `LogMel` (n_fft, hop, n_mels, ...).

    Example:
        >>> enc = AudioEncoder(16000)
        >>> enc(torch.randn(4, 16000)).shape == (4, enc.output_dim)
        True
    """

    def __init__(
        self, sample_rate: int = 16000, widths: tuple[int, ...] = (24, 48, 96, 128), **frontend
    ) -> None:
        super().__init__()
        self.frontend = LogMel(sample_rate, **frontend)
        self.cnn = AudioCNN(widths)
        self.output_dim = self.cnn.output_dim

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:
            x = self.frontend(x)
        elif x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != self.frontend.n_mels:
            raise ValueError(
                "AudioEncoder expects waveforms (B, T) or log-mel spectrograms "
                f"(B, 1, {self.frontend.n_mels}, frames), got shape {tuple(x.shape)}"
            )
        return self.cnn(x)
