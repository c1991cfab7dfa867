"""Named text datasets built from Debian packages at run time (nothing is downloaded)."""

from __future__ import annotations

from contrastkit.data.text import TextData

__all__ = ["TEXT_DATASETS", "load_named_texts"]

TEXT_DATASETS: dict[str, str] = {
    "debian-descriptions": "Debian package summary -> long description pairs (58k, apt)",
    "wordnet": "WordNet masked example -> gloss pairs, lexicographer class labels (48k)",
}


def load_named_texts(name: str) -> TextData:
    """The pairs of a dataset in `TEXT_DATASETS`.

    Raises:
        DatasetNotFoundError: its Debian package or apt index is missing (the message
            says how to install it).
    """
    if name == "wordnet":
        from contrastkit.data.wordnet import gloss_example_pairs, load_wordnet

        return gloss_example_pairs(load_wordnet())
    if name == "debian-descriptions":
        from contrastkit.data.debian import debian_pairs, load_debian_descriptions

        return debian_pairs(load_debian_descriptions())
    raise ValueError(f"unknown text dataset {name!r}; known: {', '.join(TEXT_DATASETS)}")
