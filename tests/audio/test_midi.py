from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from contrastkit.data import instrument_notes
from contrastkit.data.audio import read_audio
from contrastkit.data.instrument_notes import (
    GM_FAMILIES,
    SILENCE_PEAK,
    SOUNDFONT,
    NoteSettings,
    render_clips,
    render_midi,
)
from contrastkit.data.midi import MidiNote, _varlen, midi_bytes, write_midi


def test_variable_length_quantities() -> None:
    assert _varlen(0) == b"\x00" and _varlen(0x7F) == b"\x7f"
    assert _varlen(0x80) == b"\x81\x00" and _varlen(0x3FFF) == b"\xff\x7f"
    assert _varlen(0x200000) == b"\x81\x80\x80\x00"


def test_midi_bytes_structure() -> None:
    data = midi_bytes([MidiNote(0, 500, 40, 60, 100), MidiNote(1000, 300, 0, 64, 80, channel=1)])
    assert data[:4] == b"MThd" and struct.unpack(">IHHH", data[4:14]) == (6, 0, 1, 1000)
    assert data[14:18] == b"MTrk"
    length = struct.unpack(">I", data[18:22])[0]
    track = data[22:]
    assert len(track) == length and track.endswith(b"\x00\xff\x2f\x00")
    assert b"\xc0\x28" in track and b"\x90\x3c\x64" in track and b"\x80\x3c\x00" in track
    assert b"\xc1\x00" in track and b"\x91\x40\x50" in track


def test_midi_note_validates() -> None:
    with pytest.raises(ValueError, match="program must be in"):
        MidiNote(0, 100, program=128, pitch=60, velocity=100)
    with pytest.raises(ValueError, match="velocity"):
        MidiNote(0, 100, program=0, pitch=60, velocity=0)


def test_all_sound_off_ends_a_note_before_the_next_one_starts() -> None:
    a, b = MidiNote(0, 500, 40, 60, 100, cut_ms=1000), MidiNote(1000, 300, 0, 64, 80)
    track = midi_bytes([a, b])[22:]
    cut = b"\xb0\x78\x00"  # controller 120 = All Sound Off, channel 0
    assert track.count(cut) == 1 and track.index(cut) < track.index(b"\x90\x40\x50")
    assert b"\xb0\x78" not in midi_bytes([MidiNote(0, 500, 40, 60, 100)])
    with pytest.raises(ValueError, match="cut_ms"):
        MidiNote(0, 100, program=0, pitch=60, velocity=100, cut_ms=0)


def test_render_version_names_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    before = NoteSettings().key()
    monkeypatch.setattr(instrument_notes, "RENDER_VERSION", instrument_notes.RENDER_VERSION + 1)
    assert NoteSettings().key() != before  # a cache rendered the old way is not reused


def test_note_settings() -> None:
    s = NoteSettings(programs=(0, 8), pitches=(48, 60), test_pitches=(60,), velocities=(90,))
    notes = s.notes()
    assert [(n.program, n.pitch) for n in notes] == [(0, 48), (0, 60), (8, 48), (8, 60)]
    assert [n.start_ms for n in notes] == [0, 1250, 2500, 3750]
    assert {n.cut_ms for n in notes} == {1000}  # the sound stops at the clip's end
    assert len(GM_FAMILIES) == 16 and s.key() != NoteSettings().key()
    with pytest.raises(ValueError, match="test_pitches"):
        NoteSettings(pitches=(48,), test_pitches=(48,))


needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not SOUNDFONT.is_file(),
    reason="needs Debian packages fluidsynth and fluid-soundfont-gm (scripts/setup.sh)",
)


@needs_fluidsynth
def test_written_midi_renders_with_fluidsynth(tmp_path: Path) -> None:
    midi = write_midi(
        tmp_path / "two.mid", [MidiNote(0, 400, 0, 60, 100), MidiNote(1000, 400, 56, 67, 100)]
    )
    wav = render_midi(midi, tmp_path / "two.wav", 16000)
    wave = read_audio(wav, sample_rate=16000)
    assert wave.shape[0] >= 16000 + 6400
    peak = lambda a, b: np.abs(wave[int(a * 16000) : int(b * 16000)]).max()  # noqa: E731
    assert peak(0.0, 0.4) > 0.01 and peak(1.0, 1.4) > 0.01  # both notes sound
    assert peak(0.9, 0.98) < 0.1 * peak(0.0, 0.4)  # silence between them
    # piano (program 0) and trumpet (56) sound different: spectra differ
    a = np.abs(np.fft.rfft(wave[:6400]))
    b = np.abs(np.fft.rfft(wave[16000:22400]))
    assert np.corrcoef(a, b)[0, 1] < 0.9


@needs_fluidsynth
def test_no_clip_holds_sound_of_another_note() -> None:
    # long releases: string ensemble, choir, warm pad, choir pad; piano as a short one
    settings = NoteSettings(
        programs=(0, 48, 52, 89, 91), pitches=(40, 64), test_pitches=(64,), velocities=(100,)
    )
    notes = settings.notes()
    onsets = [n.start_ms for n in notes]
    full = render_clips(notes, settings).astype(np.float64)
    rms = lambda a: np.sqrt((a**2).mean())  # noqa: E731
    shares = []
    for i in range(len(notes)):  # the clip's own note muted: what is left is other notes
        muted = render_clips(notes[:i] + notes[i + 1 :], settings, onsets)[i]
        assert np.abs(full[i]).max() >= SILENCE_PEAK  # every note sounds
        shares.append(rms(muted) / rms(full[i]))
    assert max(shares) < 0.01, np.round(shares, 3)
