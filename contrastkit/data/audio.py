"""Read WAV/FLAC audio: one file, or a folder of clips (one subfolder per class, or flat).

Every clip is mixed down to mono, resampled to a fixed sample rate (polyphase filtering,
`scipy.signal.resample_poly`) when its file differs, and padded with zeros or cropped to
a fixed length. Needs the `soundfile` package (libsndfile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np
import torch

from contrastkit.errors import ContrastkitError, DataFormatError, DatasetNotFoundError

__all__ = ["AUDIO_SUFFIXES", "AudioFolder", "fit_length", "read_audio", "read_audio_folder"]

AUDIO_SUFFIXES = (".wav", ".flac")


def _soundfile():
    try:
        import soundfile
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ContrastkitError(
            "reading audio needs the soundfile package: pip install 'contrastkit[audio]'"
        ) from exc
    return soundfile


def fit_length(wave: np.ndarray, samples: int, offset: int = 0) -> np.ndarray:
    """Crop `wave` (T,) to `samples` from `offset`, or pad it with zeros at the end."""
    wave = wave[offset : offset + samples]
    if wave.shape[0] < samples:
        wave = np.pad(wave, (0, samples - wave.shape[0]))
    return wave


def read_audio(
    path: str | Path, *, sample_rate: int = 16000, samples: int | None = None
) -> np.ndarray:
    """One audio file as a mono float32 waveform at `sample_rate`.

    Args:
        path: a WAV or FLAC file (any format libsndfile reads).
        sample_rate: target rate in Hz; other rates are resampled.
        samples: pad (zeros at the end) or crop (keep the start) to this length; None keeps
            the whole file.

    Returns:
        (T,) float32 samples in [-1, 1].

    Raises:
        DatasetNotFoundError: the file does not exist.
        DataFormatError: the file is not readable audio, or holds no samples.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"audio file {path} does not exist")
    sf = _soundfile()
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc).split(":")[-1].strip() or type(exc).__name__
        raise DataFormatError(
            f"{path} is not a readable audio file (expected WAV or FLAC; libsndfile says: {detail})"
        ) from None
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise DataFormatError(f"{path} holds no audio samples (expected at least 1, got 0)")
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != sample_rate:
        from scipy.signal import resample_poly

        g = gcd(int(rate), int(sample_rate))
        wave = resample_poly(wave, sample_rate // g, int(rate) // g).astype(np.float32)
    if samples is not None:
        wave = fit_length(wave, samples)
    return np.ascontiguousarray(wave, dtype=np.float32)


@dataclass
class AudioFolder:
    """Clips read from a folder.

    Attributes:
        clips: (N, T) float32 waveforms at `sample_rate`.
        labels: (N,) int64 class indices (subfolder order), or None for a flat folder.
        class_names: subfolder names, index = label ([] for a flat folder).
        files: the N files read, in clip order.
        skipped: files with an audio suffix that could not be read as audio.
        sample_rate: in Hz.
    """

    clips: torch.Tensor
    labels: torch.Tensor | None
    class_names: list[str]
    files: list[Path]
    skipped: list[Path] = field(default_factory=list)
    sample_rate: int = 16000

    def __len__(self) -> int:
        return self.clips.shape[0]


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
    )


def read_audio_folder(
    root: str | Path, *, sample_rate: int = 16000, clip_seconds: float = 1.0
) -> AudioFolder:
    """All WAV/FLAC clips under `root`, labelled by subfolder when there are subfolders.

    Layouts: `root/<class>/**/*.wav` (labels from the sorted class folder names) or
    `root/*.wav` (no labels). Files with another suffix are ignored; files with an audio
    suffix that are not readable audio are skipped and listed in `skipped`.

    Args:
        root: the folder.
        sample_rate: target rate in Hz.
        clip_seconds: clip length; longer files keep their start, shorter ones are padded.

    Raises:
        DatasetNotFoundError: `root` is not a folder.
        DataFormatError: no readable audio file, or loose audio files beside class folders.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"audio folder {root} does not exist")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and _audio_files(p))
    loose = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if classes and loose:
        raise DataFormatError(
            f"{root} has class subfolders and also loose audio files such as {loose[0].name}; "
            "put every file in a class folder, or use a flat folder without subfolders"
        )
    groups = [(i, _audio_files(c)) for i, c in enumerate(classes)] if classes else [(-1, loose)]
    samples = round(clip_seconds * sample_rate)
    clips, labels, files, skipped = [], [], [], []
    for label, paths in groups:
        for path in paths:
            try:
                clips.append(read_audio(path, sample_rate=sample_rate, samples=samples))
            except DataFormatError:
                skipped.append(path)
                continue
            labels.append(label)
            files.append(path)
    if not clips:
        what = f"{len(skipped)} unreadable" if skipped else "none"
        raise DataFormatError(
            f"{root} holds no readable audio file (expected .wav or .flac files, found {what})"
        )
    return AudioFolder(
        clips=torch.from_numpy(np.stack(clips)),
        labels=torch.tensor(labels, dtype=torch.int64) if classes else None,
        class_names=[c.name for c in classes],
        files=files,
        skipped=skipped,
        sample_rate=sample_rate,
    )
