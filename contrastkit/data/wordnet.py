"""WordNet 3.0 read from its own data files (Debian package wordnet-base), no nltk.

Each line of `data.{noun,verb,adj,adv}` is one synset: offset, lexicographer file number,
part of speech, hex word count, words with lexical ids, pointers, (verbs: frames), then
`| gloss`, where the quoted parts of the gloss are example sentences.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from contrastkit.data.text import TextData
from contrastkit.errors import DataFormatError, DatasetNotFoundError

__all__ = ["WORDNET_DIR", "Synset", "gloss_example_pairs", "load_wordnet", "synonym_table"]

WORDNET_DIR = Path("/usr/share/wordnet")
POS_FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "r": "data.adv"}
_QUOTED = re.compile(r'"([^"]+)"')
_MARKER = re.compile(r"\([a-z]+\)$")  # adjective position markers: (a), (p), (ip)


@dataclass(frozen=True)
class Synset:
    """One WordNet synset (a sense shared by its words).

    Attributes:
        offset: byte offset in its data file (with `pos`, the synset's id).
        pos: "n", "v", "a" (adjectives and satellites) or "r".
        lexfile: lexicographer file number (0-44), a coarse semantic class.
        words: lemmas, underscores turned into spaces.
        definition: the gloss without its examples.
        examples: example sentences quoted in the gloss.
        pointers: (symbol, target offset, target pos) relations, e.g. "@" hypernym.
    """

    offset: int
    pos: str
    lexfile: int
    words: tuple[str, ...]
    definition: str
    examples: tuple[str, ...]
    pointers: tuple[tuple[str, int, str], ...]


def _root(root: str | Path | None) -> Path:
    path = Path(root or os.environ.get("CONTRASTKIT_WORDNET", WORDNET_DIR))
    if not (path / "data.noun").is_file():
        raise DatasetNotFoundError(
            f"WordNet data files not found in {path}; install them with "
            "`sudo apt-get install wordnet-base`, or set CONTRASTKIT_WORDNET to the folder "
            "holding data.noun"
        )
    return path


def _parse(line: str, where: str) -> Synset:
    head, _, gloss = line.partition(" | ")
    f = head.split()
    try:
        offset, lexfile, pos = int(f[0]), int(f[1]), f[2]
        n_words = int(f[3], 16)
        words = tuple(_MARKER.sub("", f[4 + 2 * i]).replace("_", " ") for i in range(n_words))
        at = 4 + 2 * n_words
        n_ptr = int(f[at])
        pointers = tuple(
            (f[at + 1 + 4 * i], int(f[at + 2 + 4 * i]), f[at + 3 + 4 * i]) for i in range(n_ptr)
        )
    except (IndexError, ValueError) as e:
        raise DataFormatError(f"{where}: malformed synset line ({e}): {line[:80]!r}") from e
    examples = tuple(m.strip() for m in _QUOTED.findall(gloss))
    definition = gloss.split('; "')[0].split(' "')[0].strip().rstrip(";").strip()
    return Synset(
        offset, "a" if pos == "s" else pos, lexfile, words, definition, examples, pointers
    )


@lru_cache(maxsize=4)
def _load(root: Path, pos: tuple[str, ...]) -> tuple[Synset, ...]:
    out = []
    for p in pos:
        path = root / POS_FILES[p]
        with path.open(encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if not line.startswith("  "):  # the licence header lines start with spaces
                    out.append(_parse(line.rstrip("\n"), f"{path}:{number}"))
    return tuple(out)


def load_wordnet(root: str | Path | None = None, pos: str = "nvar") -> list[Synset]:
    """All synsets of the given parts of speech ("n", "v", "a", "r"), in file order.

    Args:
        root: folder with the data.* files; default `$CONTRASTKIT_WORDNET` or
            /usr/share/wordnet.
        pos: which files to read, e.g. "n" for nouns only.

    Raises:
        DatasetNotFoundError: the files are missing (the message says how to install them).
    """
    unknown = set(pos) - set(POS_FILES)
    if unknown:
        raise ValueError(f"pos must use the letters n, v, a, r; got {pos!r}")
    return list(_load(_root(root), tuple(dict.fromkeys(pos))))


def synonym_table(synsets: list[Synset]) -> dict[str, tuple[str, ...]]:
    """Lower-cased single word -> its synonyms (single words from shared synsets), sorted.

    Multi-word lemmas are left out so that a replacement keeps the word count.
    """
    table: dict[str, set[str]] = {}
    for s in synsets:
        words = {w.lower() for w in s.words if " " not in w and "-" not in w}
        if len(words) < 2:
            continue
        for w in words:
            table.setdefault(w, set()).update(words - {w})
    return {w: tuple(sorted(syn)) for w, syn in table.items()}


def _mask_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-word matches of any lemma, with inflections: "respire" also masks "respiring"."""
    stems = []
    for w in sorted(words, key=len, reverse=True):
        stem = w[:-1] if len(w) > 3 and w.endswith("e") else w
        stems.append(re.escape(stem).replace(r"\ ", r"[\s_-]+") + r"\w*")
    return re.compile(r"\b(?:" + "|".join(stems) + r")\b", re.IGNORECASE)


def gloss_example_pairs(synsets: list[Synset], mask: str = "___") -> TextData:
    """(example with the word masked, definition) pairs: one per synset with a usable example.

    A synset's first example in which one of its lemmas (or an inflection) occurs gives the
    anchor, with every occurrence replaced by `mask`; the definition is the positive.
    Label: the synset's lexicographer file number (a coarse semantic class).
    """
    anchors, positives, labels = [], [], []
    for s in synsets:
        if not s.examples or not s.definition:
            continue
        pattern = _mask_pattern(s.words)
        for example in s.examples:
            masked, hits = pattern.subn(mask, example)
            if hits:
                anchors.append(masked)
                positives.append(s.definition)
                labels.append(str(s.lexfile))
                break
    return TextData(anchors, positives, label=labels, source="wordnet gloss vs masked example")
