"""How much of each instrument-notes clip comes from other notes (release tails).

The notes are rendered once together (as the dataset is), and once per group with every
`--groups`-th note muted (muted notes are `groups` slots apart). A clip's sound from other
notes is the render with its own note muted, at the clip's place; its share is the RMS ratio
of that to the clip. (Comparing against the note rendered alone would count a fluidsynth
effect that is not another note's sound: a note's first 4 ms differ slightly between the
first note a synth plays and any later one, however long before the earlier note ended.)
The share from the previous note alone is the render of its group alone at the clip's place.
Counts are over the training clips (pitches not held out, audible).
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
    rms = lambda a: np.sqrt((a.astype(np.float64) ** 2).mean(axis=1))  # noqa: E731
    full = render_clips(notes, settings)
    scale, peak = np.maximum(rms(full), 1e-12), np.abs(full).max(axis=1)
    del full
    onsets = [n.start_ms for n in notes]
    index = np.arange(len(notes))
    other, prev = np.zeros(len(notes)), np.zeros(len(notes))
    for g in range(groups):
        muted = render_clips([n for i, n in enumerate(notes) if i % groups != g], settings, onsets)
        other[index % groups == g] = rms(muted[g::groups])
        alone = render_clips(notes[g::groups], settings, onsets)
        after = index[(index % groups == g) & (index + 1 < len(notes))] + 1
        prev[after] = rms(alone[after])
    return other / scale, prev / scale, peak


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
