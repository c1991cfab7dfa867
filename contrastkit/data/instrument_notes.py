"""Instrument notes: single notes of the 128 General MIDI programs, rendered from the Debian
FluidR3 GM soundfont (recorded instrument samples) with fluidsynth.

One MIDI file holds every note (program change, note-on, note-off, then All Sound Off at
the clip's end, then silence until the next note), rendered in a single fluidsynth call
(reverb and chorus off) and sliced into clips that start at the note-on. A clip holds its
own note's release up to its end and nothing of any other note: without the cut, long
releases (pads, organs, strings) rang into the next note's clip. Labels are the 16 GM instrument
families (program // 8), for evaluation only. Clips whose instrument does not sound at
that pitch (e.g. a contrabass far above its range) are silent and dropped.

Split: the test set holds the pitches `NoteSettings.test_pitches`, never seen in training
(same programs and velocities). The rendered clips are cached as int16 under
$CONTRASTKIT_CACHE or ~/.cache/contrastkit, named by a hash of the settings and
`RENDER_VERSION`, and rebuilt when the file is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from contrastkit.data.audio import read_audio
from contrastkit.data.midi import MidiNote, write_midi
from contrastkit.errors import DatasetNotFoundError
from contrastkit.files import atomic_write

__all__ = [
    "GM_FAMILIES",
    "AudioSplit",
    "InstrumentNotes",
    "NoteSettings",
    "cache_dir",
    "load_instrument_notes",
    "render_clips",
    "render_notes",
]

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
INSTALL_HINT = "install it with: apt-get install -y fluid-soundfont-gm fluidsynth"
GM_FAMILIES = (
    "piano",
    "chromatic percussion",
    "organ",
    "guitar",
    "bass",
    "strings",
    "ensemble",
    "brass",
    "reed",
    "pipe",
    "synth lead",
    "synth pad",
    "synth effects",
    "ethnic",
    "percussive",
    "sound effects",
)
RENDER_VERSION = 2  # bump when rendering changes, so older caches are not reused
SILENCE_PEAK = 1e-3  # clips quieter than this (peak, full scale 1) are dropped


@dataclass(frozen=True)
class NoteSettings:
    """What to render: every program x pitch x velocity, one clip each.

    Attributes:
        programs: GM programs in [0, 128).
        pitches: MIDI keys; 12 keys from C2 to G#5 in major thirds by default.
        test_pitches: keys held out of training (a subset of `pitches`).
        velocities: key velocities.
        sample_rate: in Hz.
        clip_seconds: length of a clip, from the note-on.
        note_seconds: time the key is held; the sound is cut at clip_seconds.
        slot_seconds: time between note-ons (>= clip_seconds).
        gain: fluidsynth master gain.
    """

    programs: tuple[int, ...] = tuple(range(128))
    pitches: tuple[int, ...] = tuple(range(36, 81, 4))
    test_pitches: tuple[int, ...] = (44, 60, 76)
    velocities: tuple[int, ...] = (70, 110)
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    note_seconds: float = 0.8
    slot_seconds: float = 1.25
    gain: float = 0.6

    def __post_init__(self) -> None:
        if not set(self.test_pitches) < set(self.pitches):
            raise ValueError(
                f"test_pitches {self.test_pitches} must be a proper subset of "
                f"pitches {self.pitches}"
            )
        if not (self.note_seconds > 0 and 0 < self.clip_seconds <= self.slot_seconds):
            raise ValueError(
                f"need 0 < note_seconds and 0 < clip_seconds <= slot_seconds, got "
                f"{self.note_seconds}, {self.clip_seconds}, {self.slot_seconds}"
            )

    def notes(self) -> list[MidiNote]:
        """The notes in clip order: programs, then pitches, then velocities."""
        slot, hold = round(1000 * self.slot_seconds), round(1000 * self.note_seconds)
        cut = round(1000 * self.clip_seconds)
        grid = [(p, k, v) for p in self.programs for k in self.pitches for v in self.velocities]
        return [MidiNote(i * slot, hold, p, k, v, cut_ms=cut) for i, (p, k, v) in enumerate(grid)]

    def key(self) -> str:
        """Short hash of the settings and `RENDER_VERSION` (names the cache file)."""
        text = json.dumps({**asdict(self), "render_version": RENDER_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class AudioSplit:
    """Clips with their labels and note metadata.

    Attributes:
        clips: (N, T) float32 mono waveforms in [-1, 1].
        labels: (N,) int64 instrument family (program // 8).
        programs, pitches, velocities: (N,) int64 note metadata.
    """

    clips: torch.Tensor
    labels: torch.Tensor
    programs: torch.Tensor
    pitches: torch.Tensor
    velocities: torch.Tensor

    def __len__(self) -> int:
        return self.clips.shape[0]


@dataclass
class InstrumentNotes:
    """Train and test splits of the rendered notes (test: held-out pitches)."""

    train: AudioSplit
    test: AudioSplit
    sample_rate: int
    settings: NoteSettings
    class_names: tuple[str, ...] = field(default=GM_FAMILIES)
    dropped_silent: int = 0


def cache_dir() -> Path:
    """$CONTRASTKIT_CACHE, or ~/.cache/contrastkit."""
    env = os.environ.get("CONTRASTKIT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "contrastkit"


def _fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise DatasetNotFoundError(f"the fluidsynth program is not installed; {INSTALL_HINT}")
    if not SOUNDFONT.is_file():
        raise DatasetNotFoundError(f"the soundfont {SOUNDFONT} is missing; {INSTALL_HINT}")
    return exe


def render_midi(midi: Path, wav: Path, sample_rate: int, gain: float = 0.6) -> Path:
    """Render a MIDI file to a 32-bit float WAV with fluidsynth and the FluidR3 GM soundfont.

    Float output has no dither, so renders of note subsets add up to the render of all.

    Raises:
        DatasetNotFoundError: fluidsynth or the soundfont is not installed.
        RuntimeError: fluidsynth failed (its message is included).
    """
    cmd = [_fluidsynth(), "-ni", "-q", "-R", "0", "-C", "0", "-g", str(gain)]
    cmd += ["-r", str(sample_rate), "-O", "float", "-F", str(wav), str(SOUNDFONT), str(midi)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not wav.is_file():
        raise RuntimeError(f"fluidsynth failed on {midi}: {done.stderr.strip() or done.stdout}")
    return wav


def render_clips(
    notes: Sequence[MidiNote], settings: NoteSettings, onsets_ms: Sequence[int] | None = None
) -> np.ndarray:
    """Render `notes` in one fluidsynth pass and cut a clip at each onset.

    Args:
        notes: the notes to play (any subset of `settings.notes()`, or others).
        settings: sample rate, gain and clip length.
        onsets_ms: clip starts in ms; default the notes' own onsets.

    Returns:
        (len(onsets_ms), T) float32 clips, T = clip_seconds * sample_rate.
    """
    onsets = [n.start_ms for n in notes] if onsets_ms is None else list(onsets_ms)
    with tempfile.TemporaryDirectory(prefix="contrastkit-notes-") as tmp:
        midi = write_midi(Path(tmp) / "notes.mid", notes)
        wav = render_midi(midi, Path(tmp) / "notes.wav", settings.sample_rate, settings.gain)
        audio = read_audio(wav, sample_rate=settings.sample_rate)
    sr = settings.sample_rate
    clip = round(settings.clip_seconds * sr)
    starts = np.array([round(t * sr / 1000) for t in onsets], dtype=np.int64)
    need = int(starts.max(initial=0)) + clip
    if audio.shape[0] < need:
        audio = np.pad(audio, (0, need - audio.shape[0]))
    return audio[starts[:, None] + np.arange(clip)[None, :]].astype(np.float32)


def render_notes(settings: NoteSettings) -> tuple[np.ndarray, np.ndarray]:
    """Render all notes of `settings` and slice them into clips.

    Returns:
        clips (N, T) float32, T = clip_seconds * sample_rate; meta (N, 3) int64 columns
        program, pitch, velocity. Silent clips are included (see `load_instrument_notes`).
    """
    notes = settings.notes()
    meta = np.array([(n.program, n.pitch, n.velocity) for n in notes], dtype=np.int64)
    return render_clips(notes, settings), meta


def _load_or_render(settings: NoteSettings, root: Path, rebuild: bool) -> dict[str, np.ndarray]:
    path = root / f"instrument_notes_{settings.key()}.npz"
    if path.is_file() and not rebuild:
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in ("clips", "meta")}
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    clips, meta = render_notes(settings)
    pcm = np.clip(np.round(clips * 32767.0), -32768, 32767).astype(np.int16)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: savez would append .npz to a name
            np.savez(f, clips=pcm, meta=meta)

    atomic_write(path, write)
    return {"clips": pcm, "meta": meta}


def load_instrument_notes(
    settings: NoteSettings | None = None,
    *,
    root: str | Path | None = None,
    rebuild: bool = False,
) -> InstrumentNotes:
    """The rendered instrument notes, split by pitch (rendered on first use, then cached).

    Args:
        settings: what to render; the default gives 128 programs x 12 pitches x 2
            velocities = 3072 clips of 1 s at 16 kHz (about 5 s to render), minus silent ones.
        root: cache folder; default `cache_dir()`.
        rebuild: render again even when the cache exists.

    Returns:
        `InstrumentNotes` with train (pitches not in `test_pitches`) and test splits.

    Example:
        >>> notes = load_instrument_notes()
        >>> notes.train.clips.shape[1] == notes.sample_rate
        True
    """
    settings = settings or NoteSettings()
    data = _load_or_render(settings, Path(root) if root is not None else cache_dir(), rebuild)
    clips = data["clips"].astype(np.float32) / 32767.0
    meta = data["meta"]
    audible = np.abs(clips).max(axis=1) >= SILENCE_PEAK
    test = np.isin(meta[:, 1], settings.test_pitches)

    def split(mask: np.ndarray) -> AudioSplit:
        keep = mask & audible
        m = torch.from_numpy(meta[keep])
        return AudioSplit(
            clips=torch.from_numpy(clips[keep]),
            labels=m[:, 0] // 8,
            programs=m[:, 0].clone(),
            pitches=m[:, 1].clone(),
            velocities=m[:, 2].clone(),
        )

    return InstrumentNotes(
        train=split(~test),
        test=split(test),
        sample_rate=settings.sample_rate,
        settings=settings,
        dropped_silent=int((~audible).sum()),
    )
