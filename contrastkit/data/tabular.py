"""Read a table of numeric and categorical columns (and an optional label) from a CSV file
or a pandas DataFrame, with clear errors for malformed input. CSV files are read without
pandas; pandas (the `table` extra) is only used on a DataFrame a caller already holds.

The result is a `Table` of raw values: numeric columns as float64 with NaN for missing
values, categorical columns as strings with None for missing values. Statistics, codes and
the packed tensor come from `contrastkit.data.tabular_schema.TableSchema`, fitted on the
training rows only.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from contrastkit.errors import DataFormatError, DatasetNotFoundError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MISSING_TOKENS", "Table", "is_dataframe", "read_table"]

# Cell texts read as a missing value (in numeric and categorical columns alike).
MISSING_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"})


@dataclass
class Table:
    """Raw feature columns and labels of a table.

    Attributes:
        numeric: (N,) float64 arrays by column name, NaN where missing.
        categorical: (N,) object arrays of str by column name, None where missing.
        labels: (N,) object array of label strings, or None without a label column.
        source: the file path or "DataFrame", for error messages.
    """

    numeric: dict[str, np.ndarray]
    categorical: dict[str, np.ndarray]
    labels: np.ndarray | None
    source: str

    def __len__(self) -> int:
        for values in (*self.numeric.values(), *self.categorical.values()):
            return len(values)
        return 0 if self.labels is None else len(self.labels)

    def take(self, rows: np.ndarray | Sequence[int]) -> Table:
        """The table restricted to `rows` (M,) integer positions, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return Table(
            {k: v[rows] for k, v in self.numeric.items()},
            {k: v[rows] for k, v in self.categorical.items()},
            None if self.labels is None else self.labels[rows],
            self.source,
        )


def _parse_float(text: str) -> float | None:
    """The number in `text`, NaN for a missing token, None when it is not a number."""
    text = text.strip()
    if text in MISSING_TOKENS:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _read_csv(path: Path, delimiter: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows of cell texts and the 1-based file line where each row starts."""
    if not path.is_file():
        raise DatasetNotFoundError(f"table file {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise DataFormatError(f"{path}: the file is empty (expected a header line)") from None
        except csv.Error as exc:
            raise DataFormatError(f"{path}, line 1: malformed header ({exc})") from None
        header = [h.strip() for h in header]
        rows, lines = [], []
        start = reader.line_num + 1
        try:
            for row in reader:
                if row:  # skip blank lines
                    if len(row) != len(header):
                        raise DataFormatError(
                            f"{path}, line {start}: expected {len(header)} fields like the "
                            f"header, got {len(row)}"
                        )
                    rows.append(row)
                    lines.append(start)
                start = reader.line_num + 1
        except csv.Error as exc:
            raise DataFormatError(f"{path}, line {start}: malformed CSV ({exc})") from None
    if not rows:
        raise DataFormatError(f"{path}: the file has a header but no data rows")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise DataFormatError(f"{path}: duplicated column names in the header: {duplicated}")
    return header, rows, lines


def _check_columns(names: Sequence[str], available: Sequence[str], role: str, source: str) -> None:
    unknown = [n for n in names if n not in available]
    if unknown:
        raise DataFormatError(
            f"{source}: {role} column(s) {unknown} not found; the columns are {list(available)}"
        )


def _split_columns(
    columns: Sequence[str],
    looks_numeric: dict[str, bool],
    numeric: Sequence[str] | None,
    categorical: Sequence[str] | None,
    label: str | None,
    drop: Sequence[str],
    source: str,
) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature columns: as declared, the rest inferred."""
    for role, names in (("numeric", numeric), ("categorical", categorical), ("drop", drop)):
        _check_columns(names or [], columns, role, source)
    if label is not None:
        _check_columns([label], columns, "label", source)
    both = set(numeric or []) & set(categorical or [])
    if both:
        raise DataFormatError(
            f"{source}: column(s) {sorted(both)} declared numeric and categorical"
        )
    if label is not None and label in set(numeric or []) | set(categorical or []):
        raise DataFormatError(f"{source}: the label column {label!r} is also declared a feature")
    skip = {label, *drop}
    if numeric is not None and categorical is not None:
        num, cat = list(numeric), list(categorical)
    elif numeric is not None:
        num = list(numeric)
        cat = [c for c in columns if c not in skip and c not in num]
    elif categorical is not None:
        cat = list(categorical)
        num = [c for c in columns if c not in skip and c not in cat and looks_numeric[c]]
        cat += [c for c in columns if c not in skip and c not in cat and c not in num]
    else:
        num = [c for c in columns if c not in skip and looks_numeric[c]]
        cat = [c for c in columns if c not in skip and not looks_numeric[c]]
    order = {c: i for i, c in enumerate(columns)}
    num.sort(key=order.__getitem__)
    cat.sort(key=order.__getitem__)
    if not num and not cat:
        raise DataFormatError(f"{source}: no feature columns left (label {label!r}, drop {drop})")
    return num, cat


def is_dataframe(value: Any) -> bool:
    """True for a pandas DataFrame (without importing pandas: a DataFrame implies it is)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _is_missing(value: object) -> bool:
    """None, NaN, pd.NA or NaT (a DataFrame's missing scalars)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    pd = sys.modules.get("pandas")  # loaded whenever a DataFrame's cells are read
    return pd is not None and pd.api.types.is_scalar(value) and bool(pd.isna(value))


def _categories(values: Sequence[object]) -> np.ndarray:
    """Object array of stripped strings, None for missing entries."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if _is_missing(v):
            out[i] = None
        else:
            text = str(v).strip()
            out[i] = None if text in MISSING_TOKENS else text
    return out


def _from_csv(
    path: Path,
    label: str | None,
    numeric: Sequence[str] | None,
    categorical: Sequence[str] | None,
    drop: Sequence[str],
    delimiter: str,
) -> Table:
    header, rows, lines = _read_csv(path, delimiter)
    columns = list(zip(*rows, strict=True))
    cells = {name: columns[i] for i, name in enumerate(header)}
    parsed = {name: [_parse_float(t) for t in cells[name]] for name in header}
    looks_numeric = {name: all(v is not None for v in parsed[name]) for name in header}
    num, cat = _split_columns(header, looks_numeric, numeric, categorical, label, drop, str(path))
    out_num = {}
    for name in num:
        values = parsed[name]
        bad = next((i for i, v in enumerate(values) if v is None), None)
        if bad is not None:
            raise DataFormatError(
                f"{path}, line {lines[bad]}, column {name!r}: expected a number, got "
                f"{cells[name][bad]!r} (declare the column categorical or fix the value)"
            )
        out_num[name] = np.asarray(values, dtype=np.float64)
    labels = None
    if label is not None:
        labels = _categories(cells[label])
        missing = next((i for i, v in enumerate(labels) if v is None), None)
        if missing is not None:
            raise DataFormatError(
                f"{path}, line {lines[missing]}, column {label!r}: the label is missing "
                f"(got {cells[label][missing]!r})"
            )
    out_cat = {name: _categories(cells[name]) for name in cat}
    return Table(out_num, out_cat, labels, str(path))


def _from_frame(
    frame: pd.DataFrame,
    label: str | None,
    numeric: Sequence[str] | None,
    categorical: Sequence[str] | None,
    drop: Sequence[str],
) -> Table:
    source = "DataFrame"
    if len(frame) == 0:
        raise DataFormatError("DataFrame: the table has no rows")
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise DataFormatError(f"{source}: duplicated column names {columns}")
    frame = frame.set_axis(columns, axis=1)
    pd = sys.modules["pandas"]
    looks_numeric = {
        c: pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        for c in columns
    }
    num, cat = _split_columns(columns, looks_numeric, numeric, categorical, label, drop, source)
    out_num = {}
    for name in num:
        column = frame[name]
        if looks_numeric[name]:
            out_num[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        values = [math.nan if _is_missing(v) else _parse_float(str(v)) for v in column.tolist()]
        bad = next((i for i, v in enumerate(values) if v is None), None)
        if bad is not None:
            raise DataFormatError(
                f"{source}, row {frame.index.tolist()[bad]!r} (position {bad}), column {name!r}: "
                f"expected a number, got {column.iloc[bad]!r}"
            )
        out_num[name] = np.asarray(values, dtype=np.float64)
    labels = None
    if label is not None:
        labels = _categories(frame[label].tolist())
        missing = next((i for i, v in enumerate(labels) if v is None), None)
        if missing is not None:
            raise DataFormatError(
                f"{source}, row {frame.index.tolist()[missing]!r}, column {label!r}: "
                "the label is missing"
            )
    out_cat = {name: _categories(frame[name].tolist()) for name in cat}
    return Table(out_num, out_cat, labels, source)


def read_table(
    source: str | Path | pd.DataFrame,
    *,
    label: str | None = None,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    delimiter: str = ",",
) -> Table:
    """Read feature columns and labels from a CSV file (header on line 1) or a DataFrame.

    Columns not declared `numeric` or `categorical` (and not the label or in `drop`) are
    inferred: numeric when every non-missing value is a number (a numeric dtype for a
    DataFrame; bool is categorical), categorical otherwise. Cells in `MISSING_TOKENS`
    ("", "NA", "?", ...) are missing values.

    Args:
        source: path of a CSV file, or a pandas DataFrame.
        label: the label column (class names), or None for an unlabelled table.
        numeric: columns to read as numbers; a non-number in them is an error.
        categorical: columns to read as categories (numbers become their text).
        drop: columns to ignore (ids, row names).
        delimiter: CSV field separator.

    Returns:
        The `Table` of raw values.

    Raises:
        DatasetNotFoundError: the file does not exist.
        DataFormatError: empty file, ragged row, unknown column, missing label, or a value
            that is not a number in a numeric column (names file, line, column and value).

    Example:
        >>> table = read_table("credit.csv", label="Status", drop=["id"])
        >>> sorted(table.categorical)[:2]
        ['Home', 'Job']
    """
    if is_dataframe(source):
        return _from_frame(source, label, numeric, categorical, drop)
    return _from_csv(Path(source), label, numeric, categorical, drop, delimiter)
