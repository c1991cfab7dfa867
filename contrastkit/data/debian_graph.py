"""The Debian package dependency graph, read offline from apt.

Nodes are the packages of `apt-cache dumpavail` (about 63k on bookworm); an undirected edge
joins a package to each package named in its Depends, Pre-Depends and Recommends fields
(about 270k edges). In an alternative group "a | b" the edge goes to the first alternative
that is a real package (virtual packages and packages outside the archive give no edge);
version constraints "(>= 1.0)", architecture qualifiers ":any" and restrictions "[amd64]"
"<!nocheck>" are stripped.

Labels are the Section field without its "contrib/", "non-free/" or "non-free-firmware/"
prefix; the `top_sections` most frequent sections are the classes and every other package
stays in the graph unlabelled (label -1). Features are the English description (summary
plus long text, from apt's Translation-en index via `contrastkit.data.debian`; the
dumpavail summary when a package has none) as TF-IDF reduced by truncated SVD.

The built graph is cached in `$CONTRASTKIT_CACHE` (default ~/.cache/contrastkit) and
rebuilt when missing or when the archive lists changed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from contrastkit.data.debian import APT_HELPER, long_text, records, translation_files
from contrastkit.data.graph import Graph, text_features, undirected_edges
from contrastkit.errors import DatasetNotFoundError

__all__ = [
    "DebianPackage",
    "build_debian_graph",
    "cache_dir",
    "load_debian_graph",
    "parse_dumpavail",
    "parse_relation",
]

RELATION_FIELDS = ("Depends", "Pre-Depends", "Recommends")
_PREFIXES = ("contrib/", "non-free-firmware/", "non-free/")
_QUALIFIERS = re.compile(r"\(.*?\)|\[.*?\]|<.*?>")
CACHE_VERSION = 1


@dataclass(frozen=True)
class DebianPackage:
    """One dumpavail record: name, section (prefix stripped), summary, dependency groups.

    Attributes:
        relations: one tuple of alternative package names per comma-separated entry of
            Depends, Pre-Depends and Recommends, in field order.
    """

    package: str
    section: str
    summary: str
    relations: tuple[tuple[str, ...], ...]


def cache_dir() -> Path:
    """`$CONTRASTKIT_CACHE`, or ~/.cache/contrastkit."""
    return Path(os.environ.get("CONTRASTKIT_CACHE") or Path.home() / ".cache" / "contrastkit")


def parse_relation(value: str) -> tuple[tuple[str, ...], ...]:
    """Alternative groups of a relation field, names only.

    Example:
        >>> parse_relation("libc6 (>= 2.34), python3:any | python3-minimal [amd64]")
        (('libc6',), ('python3', 'python3-minimal'))
    """
    groups = []
    for entry in value.split(","):
        names = []
        for alternative in entry.split("|"):
            name = _QUALIFIERS.sub(" ", alternative).split()
            if name:
                names.append(name[0].split(":", 1)[0])
        if names:
            groups.append(tuple(names))
    return tuple(groups)


def _section(value: str) -> str:
    for prefix in _PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def parse_dumpavail(text: str) -> list[DebianPackage]:
    """Packages of `apt-cache dumpavail` output, the first record of each name kept."""
    seen: set[str] = set()
    out = []
    for record in records(text):
        name = record.get("Package", "").strip()
        if not name or name in seen:
            continue
        seen.add(name)
        relations: tuple[tuple[str, ...], ...] = ()
        for key in RELATION_FIELDS:
            if key in record:
                relations += parse_relation(record[key].replace("\n", " "))
        summary = record.get("Description", "").split("\n", 1)[0].strip()
        out.append(DebianPackage(name, _section(record.get("Section", "").strip()), summary,
                                 relations))  # fmt: skip
    return out


def _dumpavail() -> str:
    if shutil.which("apt-cache") is None:
        raise DatasetNotFoundError("the Debian package graph needs apt-cache (a Debian system)")
    text = subprocess.run(
        ["apt-cache", "dumpavail"], check=True, capture_output=True, text=True
    ).stdout
    if "Package:" not in text:
        raise DatasetNotFoundError(
            "apt-cache dumpavail lists no package; run `sudo apt-get update` once"
        )
    return text


def _long_descriptions() -> dict[str, str]:
    """Package -> "summary. long description" from apt's English translation index."""
    out: dict[str, str] = {}
    for path in translation_files():
        text = subprocess.run(
            [APT_HELPER, "cat-file", path], check=True, capture_output=True, text=True
        ).stdout
        for record in records(text):
            name, body = record.get("Package"), record.get("Description-en")
            if name and body and name not in out:
                summary, *rest = body.split("\n")
                out[name] = f"{summary.strip()}. {long_text(rest)}"
    return out


def build_debian_graph(
    packages: list[DebianPackage],
    descriptions: dict[str, str],
    *,
    top_sections: int = 20,
    feature_dim: int = 128,
    source: str = "debian packages",
) -> Graph:
    """The graph of `packages` (see the module docstring for the rules).

    Args:
        packages: parsed dumpavail records.
        descriptions: package -> description text (missing ones use the summary).
        top_sections: how many of the most frequent sections become classes.
        feature_dim: SVD dimensions of the description features.
    """
    index = {p.package: i for i, p in enumerate(packages)}
    src, dst = [], []
    for i, p in enumerate(packages):
        for group in p.relations:
            target = next((index[name] for name in group if name in index), None)
            if target is not None:
                src.append(i)
                dst.append(target)
    counts = Counter(p.section for p in packages if p.section)
    names = sorted(sorted(counts, key=lambda s: (-counts[s], s))[:top_sections])
    lookup = {s: c for c, s in enumerate(names)}
    labels = torch.tensor([lookup.get(p.section, -1) for p in packages], dtype=torch.long)
    texts = [descriptions.get(p.package) or p.summary or p.package for p in packages]
    return Graph(
        text_features(texts, feature_dim),
        undirected_edges(torch.tensor(src, dtype=torch.long), torch.tensor(dst, dtype=torch.long)),
        labels,
        [p.package for p in packages],
        names,
        source,
    )


def load_debian_graph(
    *, top_sections: int = 20, feature_dim: int = 128, rebuild: bool = False
) -> Graph:
    """The Debian package graph of this machine's apt lists, from the cache when current.

    Raises:
        DatasetNotFoundError: apt or its package lists (or English descriptions) are missing.
    """
    text = _dumpavail()
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    path = cache_dir() / f"debian_graph_v{CACHE_VERSION}_{top_sections}_{feature_dim}.npz"
    if path.is_file() and not rebuild:
        with np.load(path, allow_pickle=False) as z:
            if str(z["digest"]) == digest:
                return Graph(
                    torch.from_numpy(z["features"]),
                    torch.from_numpy(z["edges"]),
                    torch.from_numpy(z["labels"]),
                    z["node_ids"].tolist(),
                    z["label_names"].tolist(),
                    "debian packages (apt-cache dumpavail)",
                )
    graph = build_debian_graph(
        parse_dumpavail(text),
        _long_descriptions(),
        top_sections=top_sections,
        feature_dim=feature_dim,
        source="debian packages (apt-cache dumpavail)",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        digest=np.array(digest),
        features=graph.features.numpy(),
        edges=graph.edges.numpy(),
        labels=graph.labels.numpy(),
        node_ids=np.array(graph.node_ids),
        label_names=np.array(graph.label_names),
    )
    tmp.replace(path)
    return graph
