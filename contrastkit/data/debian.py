"""English descriptions of Debian packages, read offline from apt's translation index.

Each record of apt's `Translation-en` file has `Package`, `Description-md5` and
`Description-en`: the first line is the one-line summary, the indented rest the long
description ("." lines are paragraph breaks). The file appears after
`apt-get update -o Acquire::Languages=en`; it follows the archive, so it is read at run
time, never committed.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from contrastkit.data.text import TextData
from contrastkit.errors import DatasetNotFoundError

__all__ = [
    "DebianDescription",
    "debian_pairs",
    "load_debian_descriptions",
    "long_text",
    "records",
    "translation_files",
]

APT_HELPER = "/usr/lib/apt/apt-helper"
_HOWTO = "run `sudo apt-get update -o Acquire::Languages=en` once (it fetches the index)"


@dataclass(frozen=True)
class DebianDescription:
    """One package's description: its name, one-line summary and long description."""

    package: str
    summary: str
    description: str


def translation_files() -> list[str]:
    if shutil.which("apt-get") is None:
        raise DatasetNotFoundError("Debian package descriptions need apt (a Debian system)")
    out = subprocess.run(
        [
            "apt-get",
            "indextargets",
            "-o",
            "Acquire::Languages=en",
            "--format",
            "$(FILENAME)",
            "Identifier: Translations",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    files = [line for line in out.splitlines() if line.strip()]
    if not files:
        raise DatasetNotFoundError(
            f"no English package-description index on this machine; {_HOWTO}"
        )
    return files


def records(text: str) -> list[dict[str, str]]:
    records, current, key = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
            current, key = {}, None
        elif line[0] in " \t" and key is not None:
            current[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            current[key] = value.strip()
    if current:
        records.append(current)
    return records


def long_text(lines: list[str]) -> str:
    paragraphs, words = [], []
    for line in lines:
        stripped = line.strip()
        if stripped == ".":
            if words:
                paragraphs.append(" ".join(words))
            words = []
        elif stripped:
            words.append(stripped)
    if words:
        paragraphs.append(" ".join(words))
    return "\n".join(paragraphs)


def load_debian_descriptions() -> list[DebianDescription]:
    """Every package with an English description, one per distinct long description.

    Packages that share a description (-dev/-doc/lib variants often do) keep the first
    in file order, so every description is a distinct retrieval target.

    Raises:
        DatasetNotFoundError: apt's English translation index is missing (the message says
            which command fetches it).
    """
    seen: set[str] = set()
    out = []
    for path in translation_files():
        text = subprocess.run(
            [APT_HELPER, "cat-file", path], check=True, capture_output=True, text=True
        ).stdout
        for record in records(text):
            package, body = record.get("Package"), record.get("Description-en")
            if not package or not body:
                continue
            summary, *rest = body.split("\n")
            description = long_text(rest)
            if not summary.strip() or not description or description in seen:
                continue
            seen.add(description)
            out.append(DebianDescription(package, summary.strip(), description))
    if not out:
        raise DatasetNotFoundError(f"the English package-description index is empty; {_HOWTO}")
    return out


def debian_pairs(items: list[DebianDescription]) -> TextData:
    """(summary, description) pairs as `TextData`: anchor = summary, positive = description."""
    return TextData(
        [d.summary for d in items], [d.description for d in items], source="debian descriptions"
    )
