"""Text readers: one sentence per line (.txt), or .csv / .jsonl rows of texts, pairs, triplets.

Every reader returns a `TextData` with parallel columns. A bad row (a missing column, a
value of the wrong type, bytes that are not UTF-8, an empty text) is skipped, counted and
named with its line number in `TextData.skipped` and in one warning; the good rows load.
"""

from __future__ import annotations

import csv
import json
import math
import random
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contrastkit.errors import ConfigError, DataFormatError, DatasetNotFoundError

__all__ = [
    "COLUMN_ALIASES",
    "TEXT_COLUMNS",
    "TextData",
    "load_texts",
    "split_texts",
    "texts_from_records",
]

TEXT_COLUMNS = ("anchor", "positive", "negative")
# Column names recognised in a header when the caller does not map them.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "anchor": ("anchor", "text", "sentence", "query", "sentence1", "text1", "text_a", "question"),
    "positive": ("positive", "pos", "sentence2", "text2", "text_b", "document", "answer"),
    "negative": ("negative", "neg", "hard_negative", "sentence3"),
    "score": ("score", "similarity", "label_score"),
    "label": ("label", "class", "category"),
}
_WARN_ROWS = 5  # how many skipped rows the warning names


@dataclass
class TextData:
    """Texts in parallel columns, as read from one file.

    Attributes:
        anchor: N texts (the only column of a plain sentence list).
        positive: N texts paired with the anchors, or None.
        negative: N hard-negative texts for (anchor, positive), or None.
        score: N floats (similarity of anchor and positive), or None.
        label: N class labels (strings as read), or None.
        skipped: (line number, reason) of every row that was not loaded.
        source: where the rows came from.
    """

    anchor: list[str]
    positive: list[str] | None = None
    negative: list[str] | None = None
    score: list[float] | None = None
    label: list[str] | None = None
    skipped: list[tuple[int, str]] = field(default_factory=list)
    source: str = ""

    def __len__(self) -> int:
        return len(self.anchor)

    @property
    def kind(self) -> str:
        """ "texts", "pairs", "triplets" or "scored" (pairs with a score)."""
        if self.positive is None:
            return "texts"
        if self.score is not None:
            return "scored"
        return "triplets" if self.negative is not None else "pairs"

    def subset(self, index: list[int]) -> TextData:
        """The rows at `index`, in that order."""

        def pick(col: list | None) -> list | None:
            return None if col is None else [col[i] for i in index]

        return TextData(
            [self.anchor[i] for i in index],
            pick(self.positive),
            pick(self.negative),
            pick(self.score),
            pick(self.label),
            list(self.skipped),
            self.source,
        )


def load_texts(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
) -> TextData:
    """Read texts, pairs, triplets or scored pairs from a .txt, .csv/.tsv or .jsonl file.

    Args:
        path: the file. `.txt`: one text per line. `.csv` / `.tsv`: a header row, then
            rows. `.jsonl`: one JSON object per line.
        columns: maps roles ("anchor", "positive", "negative", "score", "label") to the
            file's column (or key) names. Without it, common names are recognised:
            text/sentence/anchor/query/sentence1/text_a, positive/sentence2/text_b/document,
            negative/hard_negative, score/similarity, label.
        encoding: text encoding of the file.

    Returns:
        A `TextData`; its `skipped` lists the rows left out and why.

    Raises:
        DatasetNotFoundError: the file does not exist.
        DataFormatError: unknown extension, no usable header/keys, or no good row at all.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"text file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        data = _read_lines(path, encoding)
    elif suffix in (".csv", ".tsv"):
        data = _read_table(path, encoding, "\t" if suffix == ".tsv" else ",", columns)
    elif suffix in (".jsonl", ".ndjson"):
        data = _read_jsonl(path, encoding, columns)
    else:
        raise DataFormatError(
            f"{path}: unknown text file type {suffix!r}; expected .txt, .csv, .tsv or .jsonl"
        )
    data.source = str(path)
    if not len(data):
        reasons = "; ".join(f"line {n}: {r}" for n, r in data.skipped[:_WARN_ROWS])
        raise DataFormatError(f"{path}: no usable row" + (f" ({reasons})" if reasons else ""))
    if data.skipped:
        shown = "; ".join(f"line {n}: {r}" for n, r in data.skipped[:_WARN_ROWS])
        more = len(data.skipped) - _WARN_ROWS
        warnings.warn(
            f"{path}: skipped {len(data.skipped)} bad row(s) of {len(data) + len(data.skipped)} "
            f"({shown}{f'; and {more} more' if more > 0 else ''})",
            stacklevel=2,
        )
    return data


def _decode_lines(path: Path, encoding: str) -> Iterator[tuple[int, str | None]]:
    """(line number, text without the newline), or None when the bytes do not decode."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield number, raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError:
                yield number, None


def _read_lines(path: Path, encoding: str) -> TextData:
    texts, skipped = [], []
    for number, line in _decode_lines(path, encoding):
        if line is None:
            skipped.append((number, f"bytes that are not {encoding}"))
        elif line.strip():
            texts.append(line.strip())
        else:
            skipped.append((number, "empty line"))
    return TextData(texts, skipped=skipped)


def _resolve_columns(
    available: list[str], columns: Mapping[str, str] | None, where: str
) -> dict[str, str]:
    """Role -> column name; every mapped column must exist; "anchor" is required."""
    roles = (*TEXT_COLUMNS, "score", "label")
    if columns is not None:
        unknown = set(columns) - set(roles)
        if unknown:
            raise DataFormatError(f"unknown column role(s) {sorted(unknown)}; roles are {roles}")
        missing = [c for c in columns.values() if c not in available]
        if missing and available:
            raise DataFormatError(
                f"{where}: column(s) {missing} not found; the file has {available}"
            )
        found = dict(columns)
    else:
        lowered = {name.lower(): name for name in available}
        found = {}
        for role, aliases in COLUMN_ALIASES.items():
            name = next((lowered[a] for a in aliases if a in lowered), None)
            if name is not None and name not in found.values():
                found[role] = name
    if "anchor" not in found:
        raise DataFormatError(
            f"{where}: no text column; expected one of {list(COLUMN_ALIASES['anchor'])} "
            f"(or pass columns={{'anchor': NAME}}), got {available}"
        )
    if "negative" in found and "positive" not in found:
        raise DataFormatError(f"{where}: a negative column needs a positive column")
    return found


def _row(record: Mapping, roles: dict[str, str]) -> tuple[dict, str | None]:
    """Typed values of one record, or the reason it is bad."""
    out = {}
    for role, name in roles.items():
        value = record.get(name)
        if value is None:
            return out, f"missing {name!r}"
        if role == "score":
            try:
                number = float(value)
            except (TypeError, ValueError):
                return out, f"{name!r} is not a number: {str(value)[:40]!r}"
            if not math.isfinite(number) or isinstance(value, bool):
                return out, f"{name!r} is not a finite number: {value!r}"
            out[role] = number
        elif role == "label":
            if isinstance(value, (dict, list)):
                return out, f"{name!r} should be a string or number, got {type(value).__name__}"
            out[role] = str(value)
        else:
            if not isinstance(value, str):
                return out, f"{name!r} should be text, got {type(value).__name__}"
            if not value.strip():
                return out, f"{name!r} is empty"
            if any("\udc80" <= ch <= "\udcff" for ch in value):
                return out, f"{name!r} holds bytes that are not valid text"
            out[role] = value.strip()
    return out, None


def _collect(records: Iterator[tuple[int, Mapping | str]], roles: dict[str, str]) -> TextData:
    cols: dict[str, list] = {role: [] for role in roles}
    skipped: list[tuple[int, str]] = []
    for number, record in records:
        if isinstance(record, str):  # the reader's reason for a row it could not parse
            skipped.append((number, record))
            continue
        values, reason = _row(record, roles)
        if reason is not None:
            skipped.append((number, reason))
            continue
        for role, value in values.items():
            cols[role].append(value)
    return TextData(
        cols["anchor"],
        cols.get("positive"),
        cols.get("negative"),
        cols.get("score"),
        cols.get("label"),
        skipped,
    )


def texts_from_records(
    records: list[Mapping], names: list[str], columns: Mapping[str, str] | None, where: str
) -> TextData:
    """Texts of rows given as mappings (e.g. a Hugging Face dataset's rows), their
    columns `names` found as for a file; bad rows are skipped and named by row number
    (from 1), as `load_texts` does.

    Raises:
        DataFormatError: no text column, or no good row.
    """
    data = _collect(enumerate(records, start=1), _resolve_columns(names, columns, where))
    if not len(data):
        reasons = "; ".join(f"row {n}: {r}" for n, r in data.skipped[:_WARN_ROWS])
        raise DataFormatError(f"{where}: no usable row" + (f" ({reasons})" if reasons else ""))
    return data


def _read_table(
    path: Path, encoding: str, delimiter: str, columns: Mapping[str, str] | None
) -> TextData:
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise DataFormatError(f"{path}: empty file, expected a header row")
        header = [h.strip().lstrip("\ufeff") for h in header]
        roles = _resolve_columns(header, columns, str(path))

        def records() -> Iterator[tuple[int, Mapping | str]]:
            start = reader.line_num + 1
            for row in reader:
                number, start = start, reader.line_num + 1
                if not row or not any(cell.strip() for cell in row):
                    continue  # blank line
                if len(row) != len(header):
                    yield number, f"{len(row)} fields, the header has {len(header)}"
                else:
                    yield number, dict(zip(header, row, strict=True))

        return _collect(records(), roles)


def _read_jsonl(path: Path, encoding: str, columns: Mapping[str, str] | None) -> TextData:
    parsed: list[tuple[int, Mapping | str]] = []
    keys: dict[str, None] = {}
    for number, line in _decode_lines(path, encoding):
        if line is None:
            parsed.append((number, f"bytes that are not {encoding}"))
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            parsed.append((number, f"not JSON ({e.msg})"))
            continue
        if not isinstance(record, dict):
            parsed.append((number, f"expected a JSON object, got {type(record).__name__}"))
            continue
        parsed.append((number, record))
        keys.update(dict.fromkeys(record))
    if not keys:  # no JSON object at all: report the rows' reasons
        return TextData([], skipped=[(n, r) for n, r in parsed if isinstance(r, str)])
    roles = _resolve_columns(list(keys), columns, str(path))
    return _collect(iter(parsed), roles)


def split_texts(
    data: TextData, test_size: float, seed: int = 0, max_items: int | None = None
) -> tuple[TextData, TextData | None]:
    """(train, held-out) rows of a seeded shuffle: `test_size` (a share below 1, a count
    from 1; at most half) when the data has pairs or labels to evaluate on, else None.
    `max_items` keeps only that many rows first."""
    rows = list(range(len(data)))
    random.Random(seed).shuffle(rows)
    rows = rows[:max_items] if max_items else rows
    if data.positive is None and data.label is None:
        return data.subset(sorted(rows)), None
    n = round(test_size * len(rows)) if test_size < 1 else int(test_size)
    if n >= len(rows) / 2:
        raise ConfigError(
            f"config key 'data.test_size': holding out {n} of the {len(rows)} rows leaves too "
            "few to train on; lower it"
        )
    return data.subset(sorted(rows[n:])), data.subset(rows[:n])
