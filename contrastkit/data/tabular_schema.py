"""Turn a `Table` into one float tensor with statistics fitted on the training rows.

Layout of a packed row (N, P + Q):
    [standardised numeric columns | missing indicators | categorical codes]
The first P = num_numeric columns are real-valued; the last Q hold integer codes (stored
as floats, exact below 2**24) of the categorical columns, so a plain `TensorBatches` can
hold the table and SCARF views can swap values column by column.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from contrastkit.data.tabular import Table
from contrastkit.errors import DataFormatError

__all__ = ["MISSING_CODE", "UNSEEN_CODE", "TableSchema"]

MISSING_CODE = 0  # a missing categorical value
UNSEEN_CODE = 1  # a category not seen in the training rows
_FIRST_CODE = 2


@dataclass
class TableSchema:
    """Columns, training statistics and category codes of a table (saved as JSON).

    Attributes:
        numeric: numeric column names, in packed order.
        mean, std: training mean and std of each numeric column (after filling missing
            values with the median; std 1 for a constant column).
        median: training median of each numeric column (fills missing values).
        indicators: numeric columns that get a 0/1 "was missing" column after the numeric
            block (those with missing training values, when enabled).
        categorical: categorical column names, in packed order.
        categories: per categorical column, its training categories; category j has code
            j + 2 (code 0: missing, code 1: unseen in training).
        label: the label column, or None.
        classes: label names; class i is label index i.
    """

    numeric: list[str] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    median: list[float] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    categories: list[list[str]] = field(default_factory=list)
    label: str | None = None
    classes: list[str] = field(default_factory=list)

    # ---- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, table: Table, *, label: str | None = None, missing_indicators: bool = True
    ) -> TableSchema:
        """Statistics and vocabularies of `table` (pass the training rows only).

        Args:
            table: training rows.
            label: name of the label column, kept for the record.
            missing_indicators: add a 0/1 column for each numeric column with missing
                training values.
        """
        mean, std, median, indicators = [], [], [], []
        for name, values in table.numeric.items():
            present = values[~np.isnan(values)]
            mid = float(np.median(present)) if present.size else 0.0
            filled = np.where(np.isnan(values), mid, values)
            spread = float(filled.std())
            mean.append(float(filled.mean()))
            std.append(spread if spread > 1e-12 else 1.0)
            median.append(mid)
            if missing_indicators and present.size < values.size:
                indicators.append(name)
        categories = [
            sorted({v for v in values if v is not None}) for values in table.categorical.values()
        ]
        classes = [] if table.labels is None else sorted(set(table.labels.tolist()))
        return cls(
            numeric=list(table.numeric),
            mean=mean,
            std=std,
            median=median,
            indicators=indicators,
            categorical=list(table.categorical),
            categories=categories,
            label=label,
            classes=classes,
        )

    # ---- shape of the packed tensor ------------------------------------------------------
    @property
    def num_numeric(self) -> int:
        """P: real-valued columns (numeric plus missing indicators)."""
        return len(self.numeric) + len(self.indicators)

    @property
    def cardinalities(self) -> list[int]:
        """Codes per categorical column: its categories plus "missing" and "unseen"."""
        return [len(c) + _FIRST_CODE for c in self.categories]

    @property
    def num_features(self) -> int:
        """P + Q: width of the packed tensor."""
        return self.num_numeric + len(self.categorical)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    # ---- transforms ----------------------------------------------------------------------
    def _check_columns(self, table: Table) -> None:
        for role, want, got in (
            ("numeric", self.numeric, list(table.numeric)),
            ("categorical", self.categorical, list(table.categorical)),
        ):
            if want != got:
                raise DataFormatError(
                    f"{table.source}: {role} columns {got} differ from the schema's {want}"
                )

    def transform(self, table: Table) -> Tensor:
        """Pack `table` into (N, P + Q) float32 rows (see the module docstring)."""
        self._check_columns(table)
        n = len(table)
        blocks = []
        for i, name in enumerate(self.numeric):
            values = table.numeric[name]
            values = np.where(np.isnan(values), self.median[i], values)
            blocks.append((values - self.mean[i]) / self.std[i])
        blocks += [np.isnan(table.numeric[name]).astype(np.float64) for name in self.indicators]
        for name, categories in zip(self.categorical, self.categories, strict=True):
            lookup = {c: j + _FIRST_CODE for j, c in enumerate(categories)}
            blocks.append(
                np.fromiter(
                    (
                        MISSING_CODE if v is None else lookup.get(v, UNSEEN_CODE)
                        for v in table.categorical[name]
                    ),
                    dtype=np.float64,
                    count=n,
                )
            )
        if not blocks:
            return torch.zeros(n, 0)
        return torch.from_numpy(np.stack(blocks, axis=1)).float()

    def encode_labels(self, table: Table) -> Tensor:
        """(N,) int64 class indices of the table's labels.

        Raises:
            DataFormatError: the table has no labels or a label is not a known class.
        """
        if table.labels is None:
            raise DataFormatError(f"{table.source}: the table has no label column")
        index = {c: i for i, c in enumerate(self.classes)}
        unknown = sorted({v for v in table.labels.tolist() if v not in index})
        if unknown:
            raise DataFormatError(
                f"{table.source}: label(s) {unknown[:5]} are not among the training classes "
                f"{self.classes}"
            )
        return torch.tensor([index[v] for v in table.labels.tolist()], dtype=torch.int64)

    def one_hot(self, packed: Tensor) -> Tensor:
        """Raw-feature baseline input: numeric block plus one-hot codes, (N, P + sum(C))."""
        parts = [packed[:, : self.num_numeric]]
        for j, size in enumerate(self.cardinalities):
            codes = packed[:, self.num_numeric + j].long()
            parts.append(torch.nn.functional.one_hot(codes, size).float())
        return torch.cat(parts, dim=1)

    # ---- JSON ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the schema as JSON."""
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TableSchema:
        """Read a schema written by `save`.

        Raises:
            DataFormatError: the file is not a schema (names the unexpected or missing keys).
        """
        data = json.loads(Path(path).read_text())
        known = set(cls.__dataclass_fields__)
        if not isinstance(data, dict) or set(data) != known:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise DataFormatError(
                f"{path}: not a table schema (keys {got}, expected {sorted(known)})"
            )
        return cls(**data)
