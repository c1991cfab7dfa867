from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contrastkit.data.audio import fit_length, read_audio, read_audio_folder
from contrastkit.errors import DataFormatError, DatasetNotFoundError
from tests.audio.conftest import write_garbage, write_tone


def test_read_audio_mono_resampled_and_fitted(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "a.wav", 440, rate=8000, seconds=0.5, channels=2)
    wave = read_audio(path, sample_rate=16000)
    assert wave.dtype == np.float32 and wave.shape == (8000,)  # 0.5 s at 16 kHz
    # the resampled tone still peaks at 440 Hz
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 16000 / 8000 - 440) < 5
    assert read_audio(path, sample_rate=16000, samples=16000)[8000:].max() == 0.0
    assert read_audio(path, sample_rate=16000, samples=100).shape == (100,)


def test_fit_length_pads_and_crops() -> None:
    x = np.arange(5, dtype=np.float32)
    assert fit_length(x, 3).tolist() == [0, 1, 2]
    assert fit_length(x, 7).tolist() == [0, 1, 2, 3, 4, 0, 0]
    assert fit_length(x, 3, offset=3).tolist() == [3, 4, 0]


def test_random_bytes_wav_is_rejected_naming_the_file(tmp_path: Path) -> None:
    path = write_garbage(tmp_path / "noise.wav")
    with pytest.raises(DataFormatError, match=r"noise\.wav is not a readable audio file"):
        read_audio(path)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"missing\.wav does not exist"):
        read_audio(tmp_path / "missing.wav")
    import soundfile as sf

    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(DataFormatError, match=r"empty\.wav holds no audio samples"):
        read_audio(empty)


def test_labelled_folder_skips_and_counts_bad_files(labelled_folder: Path) -> None:
    folder = read_audio_folder(labelled_folder, sample_rate=16000, clip_seconds=1.0)
    assert folder.class_names == ["high", "low"]
    assert folder.clips.shape == (12, 16000)
    assert sorted(folder.labels.tolist()) == [0] * 6 + [1] * 6
    assert [p.name for p in folder.skipped] == ["broken.wav"]
    assert all(p.suffix in (".wav", ".flac") for p in folder.files)
    # the 8 kHz stereo tones were mixed down and resampled: 0.5 s of sound, then zeros
    low = folder.clips[folder.labels == 1]
    assert low[:, :7900].abs().amax(1).min() > 0.4 and low[:, 8100:].abs().max() == 0


def test_flat_folder_has_no_labels(tmp_path: Path) -> None:
    for i in range(3):
        write_tone(tmp_path / f"t{i}.wav", 300 + 100 * i)
    folder = read_audio_folder(tmp_path, clip_seconds=0.25)
    assert folder.labels is None and folder.class_names == []
    assert folder.clips.shape == (3, 4000)


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        read_audio_folder(tmp_path / "nope")
    write_garbage(tmp_path / "bad" / "x.wav")
    with pytest.raises(DataFormatError, match=r"no readable audio file.*1 unreadable"):
        read_audio_folder(tmp_path / "bad")
    write_tone(tmp_path / "mixed" / "cls" / "a.wav", 300)
    write_tone(tmp_path / "mixed" / "loose.wav", 300)
    with pytest.raises(DataFormatError, match=r"loose audio files such as loose\.wav"):
        read_audio_folder(tmp_path / "mixed")
