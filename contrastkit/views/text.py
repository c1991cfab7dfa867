"""Text views: word deletion, span cropping, word-order swaps, WordNet synonyms; seedable.

SimCSE's augmentation is dropout inside the encoder: its two views are the same text
(`TextViews.simcse()`), made different by the encoder's dropout masks in training mode.
The other operations edit words (whitespace tokens) and draw from one `random.Random`
per call, seeded from a torch Generator, so a seed gives the same views every time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "TextOp",
    "TextViews",
    "crop_span",
    "delete_words",
    "replace_synonyms",
    "swap_words",
]

TextOp = Callable[[list[str], random.Random], list[str]]


def delete_words(words: list[str], rng: random.Random, p: float = 0.1) -> list[str]:
    """Drop each word with probability `p`; at least one word is kept."""
    if not words:
        return []
    kept = [w for w in words if rng.random() >= p]
    return kept or [words[rng.randrange(len(words))]]


def crop_span(
    words: list[str], rng: random.Random, min_frac: float = 0.5, max_frac: float = 1.0
) -> list[str]:
    """A contiguous span of `min_frac`-`max_frac` of the words (at least one)."""
    if not words:
        return []
    n = len(words)
    length = max(1, round(n * rng.uniform(min_frac, max_frac)))
    start = rng.randrange(n - length + 1)
    return words[start : start + length]


def swap_words(words: list[str], rng: random.Random, n_swaps: int = 1) -> list[str]:
    """Swap `n_swaps` random pairs of words."""
    out = list(words)
    if len(out) < 2:
        return out
    for _ in range(n_swaps):
        i, j = rng.sample(range(len(out)), 2)
        out[i], out[j] = out[j], out[i]
    return out


def replace_synonyms(
    words: list[str],
    rng: random.Random,
    table: Mapping[str, Sequence[str]],
    p: float = 0.2,
) -> list[str]:
    """Replace each word that has synonyms in `table` (lower-case keys) with probability `p`.

    Punctuation around a word and a leading capital are kept.
    """
    out = []
    for w in words:
        core = w.strip(".,;:!?\"'()")
        synonyms = table.get(core.lower())
        if synonyms and rng.random() < p:
            new = synonyms[rng.randrange(len(synonyms))]
            if core[:1].isupper():
                new = new[:1].upper() + new[1:]
            w = w.replace(core, new, 1)
        out.append(w)
    return out


@dataclass
class TextViews:
    """Make `n_views` views of each text by applying `ops` in order (each view drawn anew).

    Args:
        ops: functions (words, rng) -> words; empty means the text itself (SimCSE).
        n_views: views per text.

    Example:
        >>> views = TextViews.eda(p_delete=0.1)
        >>> a, b = views(["the cat sat on the mat"], torch.Generator().manual_seed(0))
    """

    ops: tuple[TextOp, ...] = ()
    n_views: int = 2

    def __post_init__(self) -> None:
        if self.n_views < 1:
            raise ValueError(f"n_views must be >= 1, got {self.n_views}")

    def __call__(self, texts: Sequence[str], generator: torch.Generator) -> list[list[str]]:
        """V lists of len(texts) strings; view v of text i is `out[v][i]`."""
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rng = random.Random(seed)
        if not self.ops:
            return [list(texts) for _ in range(self.n_views)]
        views = []
        for _ in range(self.n_views):
            out = []
            for text in texts:
                words = text.split()
                for op in self.ops:
                    words = op(words, rng)
                out.append(" ".join(words) if words else text)
            views.append(out)
        return views

    @classmethod
    def simcse(cls, n_views: int = 2) -> TextViews:
        """Identical copies: the encoder's dropout is the augmentation (Gao et al., 2021)."""
        return cls((), n_views)

    @classmethod
    def eda(
        cls,
        *,
        p_delete: float = 0.1,
        crop: tuple[float, float] | None = None,
        n_swaps: int = 0,
        synonyms: Mapping[str, Sequence[str]] | None = None,
        p_synonym: float = 0.1,
        n_views: int = 2,
    ) -> TextViews:
        """Word-level edits (in the spirit of EDA, Wei and Zou, 2019), each optional.

        Args:
            p_delete: probability of deleting each word (0 disables).
            crop: (min, max) fraction of words kept as one span, or None.
            n_swaps: word pairs swapped per text.
            synonyms: word -> synonyms (e.g. `synonym_table(load_wordnet())`), or None.
            p_synonym: probability of replacing each word that has synonyms.
        """
        for name, value in (("p_delete", p_delete), ("p_synonym", p_synonym)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if crop is not None and not 0.0 < crop[0] <= crop[1] <= 1.0:
            raise ValueError(f"crop must satisfy 0 < min <= max <= 1, got {crop}")
        if n_swaps < 0:
            raise ValueError(f"n_swaps must be >= 0, got {n_swaps}")
        ops: list[TextOp] = []
        if synonyms is not None and p_synonym > 0:
            ops.append(lambda w, r: replace_synonyms(w, r, synonyms, p_synonym))
        if crop is not None:
            ops.append(lambda w, r: crop_span(w, r, *crop))
        if n_swaps:
            ops.append(lambda w, r: swap_words(w, r, n_swaps))
        if p_delete > 0:
            ops.append(lambda w, r: delete_words(w, r, p_delete))
        return cls(tuple(ops), n_views)
