"""A minimal Standard MIDI File writer (format 0, one track), standard library only."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MidiNote", "write_midi"]

TICKS_PER_QUARTER = 1000
MICROSECONDS_PER_QUARTER = 1_000_000  # with 1000 ticks per quarter: one tick is 1 ms


@dataclass(frozen=True)
class MidiNote:
    """One note played after a program change.

    Attributes:
        start_ms: onset time in milliseconds from the start of the file.
        duration_ms: time until the note-off, > 0.
        program: General MIDI program in [0, 128).
        pitch: MIDI key in [0, 128) (60 is middle C).
        velocity: key velocity in [1, 128).
        channel: MIDI channel in [0, 16); channel 9 is the GM drum kit.
        cut_ms: time after the onset at which All Sound Off (controller 120) silences the
            channel at once, release included, so nothing of the note sounds later; None
            lets the release ring out.
    """

    start_ms: int
    duration_ms: int
    program: int
    pitch: int
    velocity: int
    channel: int = 0
    cut_ms: int | None = None

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("program", self.program, 0, 128),
            ("pitch", self.pitch, 0, 128),
            ("velocity", self.velocity, 1, 128),
            ("channel", self.channel, 0, 16),
        ):
            if not low <= value < high:
                raise ValueError(f"{name} must be in [{low}, {high}), got {value}")
        if self.start_ms < 0 or self.duration_ms <= 0:
            raise ValueError(
                f"start_ms must be >= 0 and duration_ms > 0, got {self.start_ms}, "
                f"{self.duration_ms}"
            )
        if self.cut_ms is not None and self.cut_ms <= 0:
            raise ValueError(f"cut_ms must be None or > 0, got {self.cut_ms}")


def _varlen(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_bytes(notes: Sequence[MidiNote]) -> bytes:
    """The bytes of a format-0 MIDI file playing `notes` (1 tick = 1 ms).

    Each note is a program change, a note-on and a note-off on its channel, and an All Sound
    Off (controller 120) when it has a `cut_ms`. Events at the same time keep the order:
    note-offs first, then All Sound Off, program changes, note-ons.
    """
    events: list[tuple[int, int, bytes]] = []  # (time, order, message)
    for n in notes:
        events.append((n.start_ms, 2, bytes([0xC0 | n.channel, n.program])))
        events.append((n.start_ms, 3, bytes([0x90 | n.channel, n.pitch, n.velocity])))
        events.append((n.start_ms + n.duration_ms, 0, bytes([0x80 | n.channel, n.pitch, 0])))
        if n.cut_ms is not None:
            events.append((n.start_ms + n.cut_ms, 1, bytes([0xB0 | n.channel, 120, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    tempo = MICROSECONDS_PER_QUARTER.to_bytes(3, "big")
    track = bytearray(b"\x00\xff\x51\x03" + tempo)
    now = 0
    for time, _, message in events:
        track += _varlen(time - now) + message
        now = time
    track += b"\x00\xff\x2f\x00"  # end of track
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def write_midi(path: str | Path, notes: Sequence[MidiNote]) -> Path:
    """Write `notes` as a Standard MIDI File at `path` (see `midi_bytes`); return the path.

    Example:
        >>> write_midi("/tmp/a.mid", [MidiNote(0, 500, program=0, pitch=60, velocity=100)])
        PosixPath('/tmp/a.mid')
    """
    path = Path(path)
    path.write_bytes(midi_bytes(notes))
    return path
