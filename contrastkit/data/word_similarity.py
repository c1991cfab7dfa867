"""Human-scored word pairs: SimLex-999 and WordSim-353, read from the files that the PyPI
package `gensim` ships in its test data (installed offline with `pip install gensim`; the
package is never imported, only its files are read).

SimLex-999 (Hill, Reichart and Korhonen 2015) rates 999 pairs of English words for
similarity on 0-10 ("cup"/"mug" high, "cup"/"coffee" low); WordSim-353 (Finkelstein et al.
2002) rates 353 pairs for relatedness on 0-10 ("cup"/"coffee" high). Each is a scored-pair
set for CoSENT / AnglE: anchor = first word, positive = second, score = the mean human
rating.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from contrastkit.data.text import TextData
from contrastkit.errors import DataFormatError, DatasetNotFoundError

__all__ = ["WORD_SIMILARITY_FILES", "load_word_similarity", "word_similarity_path"]

# named set -> file name in gensim/test/test_data
WORD_SIMILARITY_FILES = {"simlex-999": "simlex999.txt", "wordsim-353": "wordsim353.tsv"}


def word_similarity_path(name: str) -> Path:
    """Where the installed `gensim` keeps the file of `name` (a key of
    `WORD_SIMILARITY_FILES`).

    Raises:
        DatasetNotFoundError: gensim is not installed, or its test data lacks the file.
    """
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            f"{name} is read from the PyPI package gensim's test data, which is not "
            "installed: pip install gensim (or pip install 'contrastkit[text]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"
    path = path / WORD_SIMILARITY_FILES[name]
    if not path.is_file():
        raise DatasetNotFoundError(f"{name}: {path} is missing from the installed gensim")
    return path


def load_word_similarity(name: str, path: str | Path | None = None) -> TextData:
    """The scored word pairs of `name`, from `path` (default: `word_similarity_path`).

    The file: `#` comment lines, then tab-separated `word1 word2 score` rows. A row
    without three fields or with a score that is not a number in [0, 10] is skipped and
    named with its line number in `TextData.skipped`.

    Returns:
        TextData with anchor (N words), positive (N words), score (N floats in [0, 10]).

    Raises:
        DatasetNotFoundError: as `word_similarity_path`.
        DataFormatError: no good row at all.
    """
    path = Path(path) if path is not None else word_similarity_path(name)
    first: list[str] = []
    second: list[str] = []
    scores: list[float] = []
    skipped: list[tuple[int, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0].strip() or not fields[1].strip():
            skipped.append((number, f"expected 3 tab-separated fields, got {len(fields)}"))
            continue
        try:
            score = float(fields[2])
        except ValueError:
            skipped.append((number, f"score {fields[2][:20]!r} is not a number"))
            continue
        if not 0 <= score <= 10:
            skipped.append((number, f"score {score} is outside [0, 10]"))
            continue
        first.append(fields[0].strip())
        second.append(fields[1].strip())
        scores.append(score)
    if not first:
        raise DataFormatError(f"{path}: no scored word pair (word1<TAB>word2<TAB>score)")
    return TextData(first, second, score=scores, skipped=skipped, source=f"{name} ({path})")
