"""Every modality adapter by name, named datasets, and what a path on disk holds."""

from __future__ import annotations

from pathlib import Path

from contrastkit.data.folder import IMAGE_EXTENSIONS
from contrastkit.data.tar_shards import is_tar_source
from contrastkit.errors import ConfigError, DatasetNotFoundError
from contrastkit.modalities.audio import AudioModality
from contrastkit.modalities.base import Modality
from contrastkit.modalities.graph import GraphModality
from contrastkit.modalities.image import ImageModality
from contrastkit.modalities.image_text import ImageTextModality
from contrastkit.modalities.interactions import InteractionsModality
from contrastkit.modalities.table import TableModality
from contrastkit.modalities.text import TextModality

__all__ = [
    "MODALITIES",
    "canonical_dataset",
    "detect_modality",
    "get_modality",
    "named_dataset_modality",
]

# Detection order matters for paths: the more specific readers first (a captions CSV or an
# interactions CSV is also a table).
MODALITIES: dict[str, Modality] = {
    m.name: m
    for m in (
        ImageModality(),
        AudioModality(),
        GraphModality(),
        ImageTextModality(),
        InteractionsModality(),
        TextModality(),
        TableModality(),
    )
}


def get_modality(name: str) -> Modality:
    """The adapter called `name`.

    Raises:
        ConfigError: no such modality (the message lists them).
    """
    if name not in MODALITIES:
        raise ConfigError(
            f"config key 'data.modality': unknown modality {name!r}; choose one of "
            f"{', '.join(MODALITIES)}"
        )
    return MODALITIES[name]


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def canonical_dataset(name: str) -> tuple[str, str] | None:
    """(modality, the adapter's own spelling) of a named dataset, matched without regard to
    case, - or _, and aliases (`Modality.aliases`); None for anything else."""
    key = _key(name)
    for modality in MODALITIES.values():
        names = {_key(n): n for n in modality.datasets}
        names |= {_key(a): n for a, n in modality.aliases.items()}
        if key in names:
            return modality.name, names[key]
    return None


def named_dataset_modality(name: str) -> str | None:
    """The modality of a named dataset (see `canonical_dataset`), or None."""
    found = canonical_dataset(name)
    return found[0] if found else None


def detect_modality(dataset: str) -> str:
    """The modality of a named dataset, or of the file or folder at `dataset`.

    Raises:
        DatasetNotFoundError: neither a named dataset nor an existing path.
        ConfigError: a path whose contents no modality recognises.
    """
    named = named_dataset_modality(dataset)
    if named is not None:
        return named
    path = Path(dataset).expanduser()
    if not path.exists() and is_tar_source(dataset):  # a brace pattern of shards
        return "image"
    if not path.exists():
        names = sorted(n for m in MODALITIES.values() for n in m.datasets)
        raise DatasetNotFoundError(
            f"unknown dataset {dataset!r}: not a named dataset ({', '.join(names)}) and no "
            f"file or folder at {path}"
        )
    for modality in MODALITIES.values():
        if modality.detect(path):
            return modality.name
    if path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS:
        return "image"  # the image reader says what is wrong with the folder
    raise ConfigError(
        f"cannot tell what {path} holds (images, texts, audio, a graph, a table, captions or "
        "interactions): set --modality"
    )
