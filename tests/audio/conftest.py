"""Helpers for the audio tests: tiny synthetic WAV/FLAC files (unit tests only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_tone(
    path: Path, freq: float, *, rate: int = 16000, seconds: float = 0.5, channels: int = 1
) -> Path:
    """A sine tone (synthetic, for reader and CLI tests) written with soundfile."""
    import soundfile as sf

    t = np.arange(round(rate * seconds)) / rate
    wave = 0.5 * np.sin(2 * np.pi * freq * t)
    data = np.stack([wave] * channels, axis=1) if channels > 1 else wave
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data.astype(np.float32), rate)
    return path


def write_garbage(path: Path, size: int = 2048, seed: int = 0) -> Path:
    """Random bytes under an audio file name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


@pytest.fixture
def labelled_folder(tmp_path: Path) -> Path:
    return write_labelled_folder(tmp_path / "clips")


def write_labelled_folder(root: Path) -> Path:
    """root/low/*.wav (220-330 Hz tones), root/high/*.flac (2-3 kHz), one bad .wav, a README."""
    for i in range(6):
        write_tone(root / "low" / f"low{i}.wav", 220 + 20 * i, rate=8000, channels=2)
        write_tone(root / "high" / f"high{i}.flac", 2000 + 200 * i)
    write_garbage(root / "high" / "broken.wav")
    (root / "README.txt").write_text("not audio, ignored\n")
    return root
