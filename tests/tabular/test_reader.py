"""Table reader and schema: parsing, inference, missing values, codes, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from contrastkit.data.tabular import read_table
from contrastkit.data.tabular_datasets import load_table_splits, split_rows
from contrastkit.data.tabular_schema import MISSING_CODE, UNSEEN_CODE, TableSchema
from contrastkit.errors import DataFormatError, DatasetNotFoundError

CSV = """age,city,income,label
30,paris,100,yes
40,,NA,no
50,rome,300,yes
"""


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_columns_are_inferred_and_missing_values_read(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, CSV), label="label")
    assert list(table.numeric) == ["age", "income"]
    assert list(table.categorical) == ["city"]
    assert np.isnan(table.numeric["income"][1])
    assert table.categorical["city"].tolist() == ["paris", None, "rome"]
    assert table.labels.tolist() == ["yes", "no", "yes"]


def test_non_number_in_a_declared_numeric_column_names_file_line_column_value(
    tmp_path: Path,
) -> None:
    text = 'age,note,income\n30,"two\nlines",100\n40,x,abc\n'  # a quoted field spans lines 2-3
    path = _write(tmp_path, text)
    with pytest.raises(
        DataFormatError, match=r"t\.csv, line 4, column 'income': expected a number, got 'abc'"
    ):
        read_table(path, numeric=["age", "income"])
    # inferred, the same column is categorical instead
    assert "income" in read_table(path).categorical


def test_malformed_files_are_rejected_with_the_place(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"line 3: expected 3 fields like the header, got 2"):
        read_table(_write(tmp_path, "a,b,c\n1,2,3\n4,5\n"))
    with pytest.raises(DataFormatError, match="empty"):
        read_table(_write(tmp_path, "", "empty.csv"))
    with pytest.raises(DataFormatError, match=r"label column\(s\) \['target'\] not found"):
        read_table(_write(tmp_path, CSV), label="target")
    with pytest.raises(DataFormatError, match=r"line 3, column 'label': the label is missing"):
        read_table(_write(tmp_path, "x,label\n1,a\n2,\n"), label="label")
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_dataframe_declared_numeric_with_text_names_the_row() -> None:
    frame = pd.DataFrame({"x": ["1", "2.5", "oops"], "y": [1, 2, 3]}, index=[10, 11, 12])
    with pytest.raises(
        DataFormatError, match=r"row 12 .* column 'x': expected a number, got 'oops'"
    ):
        read_table(frame, numeric=["x"])
    table = read_table(frame.iloc[:2], numeric=["x"])
    assert table.numeric["x"].tolist() == [1.0, 2.5]


def test_schema_uses_training_statistics_and_reserves_codes() -> None:
    train = read_table(pd.DataFrame({"n": [1.0, np.nan, 3.0, 5.0], "c": ["a", "b", None, "a"]}))
    schema = TableSchema.fit(train)
    assert schema.median == [3.0] and schema.indicators == ["n"]
    assert schema.cardinalities == [4]  # a, b + missing + unseen
    packed = schema.transform(train)
    assert packed.shape == (4, 3) and packed.dtype == torch.float32
    filled = torch.tensor([1.0, 3.0, 3.0, 5.0])
    assert torch.allclose(packed[:, 0], (filled - filled.mean()) / filled.std(correction=0))
    assert packed[:, 1].tolist() == [0.0, 1.0, 0.0, 0.0]  # missing indicator
    assert packed[:, 2].tolist() == [2.0, 3.0, MISSING_CODE, 2.0]
    test = read_table(pd.DataFrame({"n": [np.nan], "c": ["zzz"]}))
    assert schema.transform(test)[0].tolist() == pytest.approx(
        [packed[1, 0].item(), 1.0, UNSEEN_CODE]
    )
    one_hot = schema.one_hot(packed)
    assert one_hot.shape == (4, 2 + 4) and torch.equal(one_hot[:, 2:].sum(1), torch.ones(4))


def test_schema_round_trips_through_json(tmp_path: Path) -> None:
    schema = load_table_splits("wine").schema
    schema.save(tmp_path / "schema.json")
    assert TableSchema.load(tmp_path / "schema.json") == schema
    (tmp_path / "bad.json").write_text('{"numeric": []}')
    with pytest.raises(DataFormatError, match="not a table schema"):
        TableSchema.load(tmp_path / "bad.json")


def test_real_table_splits_are_stratified_and_fitted_on_train_only() -> None:
    data = load_table_splits("credit", seed=0)
    assert data.schema.categorical == ["Home", "Marital", "Records", "Job"]
    assert "Income" in data.schema.indicators  # credit_data has missing incomes
    assert data.train_x.shape[1] == data.test_x.shape[1] == data.schema.num_features
    assert len(data.train_x) + len(data.test_x) == 4454
    p = data.schema.num_numeric
    assert torch.allclose(
        data.train_x[:, : len(data.schema.numeric)].mean(0),
        torch.zeros(len(data.schema.numeric)),
        atol=1e-4,
    )
    bad_share = [float((y == 0).float().mean()) for y in (data.train_y, data.test_y)]
    assert abs(bad_share[0] - bad_share[1]) < 0.01
    assert torch.isfinite(data.train_x).all() and (data.train_x[:, p:] >= 0).all()
    train, test = split_rows(10, 0.3, seed=1)
    assert sorted([*train.tolist(), *test.tolist()]) == list(range(10)) and len(test) == 3
