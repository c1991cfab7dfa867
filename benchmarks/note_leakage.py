"""How much of each instrument-notes clip comes from other notes (release tails).

The notes are rendered once together (as the dataset is) and once per group of every
`--groups`-th note (notes of one group are `groups` slots apart). A clip's sound from other
notes is the full render minus its own group's render at the clip's place; its share is the
RMS ratio of that to the clip. The share from the previous note alone is its group's render
at the clip's place. Counts are over the training clips (pitches not held out, audible).
Results: benchmarks/results/note_leakage.json.

Usage:
    python -m benchmarks.note_leakage [--groups 4] [--threshold 0.05]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import print_table, write_results
from contrastkit.data.instrument_notes import SILENCE_PEAK, NoteSettings, render_clips


def leakage(settings: NoteSettings, groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per clip: share of RMS from other notes, from the previous note, and the clip peak."""
    notes = settings.notes()
    full = render_clips(notes, settings).astype(np.float64)
    onsets = [n.start_ms for n in notes]
    parts = [
        render_clips(notes[g::groups], settings, onsets).astype(np.float64) for g in range(groups)
    ]
    index = np.arange(len(notes))
    own = np.stack([parts[i % groups][i] for i in index])
    prev = np.stack([parts[(i - 1) % groups][i] if i else np.zeros_like(full[0]) for i in index])
    rms = lambda a: np.sqrt((a**2).mean(axis=1))  # noqa: E731
    scale = np.maximum(rms(full), 1e-12)
    return rms(full - own) / scale, rms(prev) / scale, np.abs(full).max(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--threshold", type=float, default=0.05)
    parser.add_argument("--output", default="note_leakage")
    args = parser.parse_args()
    settings = NoteSettings()
    other, prev, peak = leakage(settings, args.groups)
    pitch = np.array([n.pitch for n in settings.notes()])
    test = np.isin(pitch, settings.test_pitches)
    prev_test = np.roll(test, 1)
    prev_test[0] = False
    train = ~test & (peak >= SILENCE_PEAK)
    over = train & (other > args.threshold)
    row = {
        "train_clips": int(train.sum()),
        "over_threshold": int(over.sum()),
        "over_threshold_previous_is_test_pitch": int((over & prev_test).sum()),
        "previous_note_over_threshold": int((train & (prev > args.threshold)).sum()),
        "over_1_percent": int((train & (other > 0.01)).sum()),
        "max_share_train": float(other[train].max()),
        "max_share_all": float(other[peak >= SILENCE_PEAK].max()),
    }
    print_table([row], list(row))
    path = write_results(args.output, [row], groups=args.groups, threshold=args.threshold)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
