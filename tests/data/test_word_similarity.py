"""SimLex-999 and WordSim-353 read from gensim's test data: counts, known ratings, bad rows
skipped and named, and an install hint when gensim is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrastkit.data import word_similarity
from contrastkit.data.text_datasets import load_named_texts
from contrastkit.data.word_similarity import load_word_similarity
from contrastkit.errors import DataFormatError, DatasetNotFoundError


def test_simlex_999_is_read_whole() -> None:
    data = load_named_texts("simlex-999")
    assert (len(data), data.kind, data.skipped) == (999, "scored", [])
    pairs = dict(zip(zip(data.anchor, data.positive, strict=True), data.score, strict=True))
    assert pairs[("smart", "intelligent")] == 9.2 and pairs[("old", "new")] == 1.58
    assert all(0 <= s <= 10 for s in data.score)


def test_wordsim_353_is_read_whole() -> None:
    data = load_named_texts("wordsim-353")
    assert (len(data), data.kind, data.skipped) == (353, "scored", [])
    assert (data.anchor[1], data.positive[1]) == ("tiger", "cat")
    assert data.score[1] == 7.35


def test_bad_rows_are_skipped_and_named(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("# header\ncup\tmug\t9.1\ncup\tcoffee\nbad\tscore\tx\nhigh\tscore\t12\n")
    data = load_word_similarity("simlex-999", path)
    assert (data.anchor, data.positive, data.score) == (["cup"], ["mug"], [9.1])
    assert [n for n, _ in data.skipped] == [3, 4, 5]
    assert "'x' is not a number" in data.skipped[1][1] and "outside [0, 10]" in data.skipped[2][1]
    path.write_text("# only a header\n")
    with pytest.raises(DataFormatError, match="no scored word pair"):
        load_word_similarity("simlex-999", path)


def test_missing_gensim_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(word_similarity.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DatasetNotFoundError, match="pip install gensim"):
        load_named_texts("wordsim-353")
