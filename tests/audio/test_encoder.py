from __future__ import annotations

import pytest
import torch

from contrastkit.encoders.audio import AudioCNN, AudioEncoder, LogMel, mel_filterbank
from contrastkit.methods import BYOL, SimCLR
from contrastkit.methods.base import Batch


def test_mel_filterbank_shape_and_peaks() -> None:
    fb = mel_filterbank(40, 512, 16000, f_min=30.0)
    assert fb.shape == (40, 257) and fb.min() >= 0 and fb.max() <= 1.0 + 1e-6
    centres = fb.argmax(dim=1)
    assert torch.all(centres.diff() >= 0) and centres[-1] > 200
    assert torch.all(fb.sum(dim=1) > 0)  # no empty filter
    with pytest.raises(ValueError, match="f_min"):
        mel_filterbank(40, 512, 16000, f_min=9000.0)


def test_logmel_shape_normalisation_and_gain_invariance() -> None:
    wave = torch.randn(3, 16000, generator=torch.Generator().manual_seed(0))
    frontend = LogMel(16000, n_mels=40, hop=320)
    spec = frontend(wave)
    assert spec.shape == (3, 1, 40, frontend.frames(16000)) == (3, 1, 40, 51)
    assert torch.allclose(spec.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(frontend(4.0 * wave), spec, atol=1e-3)  # gain is removed
    # a tone lights up the mel band of its frequency
    tone = torch.sin(2 * torch.pi * 1000 * torch.arange(16000) / 16000)[None]
    band = LogMel(16000, n_mels=40, hop=320, normalize=False)(tone)[0, 0].mean(1).argmax()
    assert band == mel_filterbank(40, 512, 16000, f_min=30.0)[:, 32].argmax()  # bin 32 = 1 kHz
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        frontend(torch.randn(16000))


def test_encoder_output_shape_for_waves_and_spectrograms() -> None:
    enc = AudioEncoder(16000, (8, 16, 32), n_mels=40, hop=320)
    assert enc.output_dim == 64
    waves = torch.randn(4, 8000)
    assert enc(waves).shape == (4, 64)
    enc.eval()
    assert torch.allclose(enc(waves), enc(enc.frontend(waves)), atol=1e-5)
    with pytest.raises(ValueError, match="expects waveforms"):
        enc(torch.randn(4, 1, 20, 51))
    assert AudioCNN((4,)).output_dim == 8


@pytest.mark.parametrize("method", [SimCLR, BYOL])
def test_methods_train_on_the_encoder_unchanged(method) -> None:
    enc = AudioEncoder(16000, (8, 16), n_mels=32, hop=320)
    m = method(enc, proj_hidden_dim=32, proj_dim=16)
    views = [enc.frontend(torch.randn(6, 4000)) for _ in range(2)]
    out = m.training_step(Batch(views=views))
    out.loss.backward()
    assert torch.isfinite(out.loss) and enc.cnn.features[0][0].weight.grad is not None
