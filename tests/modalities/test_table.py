"""The table adapter through `contrastkit train`: a user CSV with a categorical column, the
schema saved beside the weights, other CSVs packed the same way, errors that name lines."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.data.tabular_schema import TableSchema
from contrastkit.pipeline.embedder import load_embedder

runner = CliRunner()


def test_train_on_a_csv_writes_the_schema_and_embeds_other_csvs(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["region"] = ["north" if i % 3 else "south" for i in range(len(frame))]  # a categorical
    frame.to_csv(tmp_path / "wine.csv", index=False)
    run = tmp_path / "run"
    args = ["train", "--dataset", str(tmp_path / "wine.csv"), "--set", "data.label=target",
            "--method", "barlow_twins", "--steps", "20", "--batch-size", "32", "-o", str(run),
            "--no-progress", "--no-report"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "raw features" in result.output and "random-init encoder" in result.output
    assert json.loads((run / "summary.json").read_text())["steps"] == 20
    schema = TableSchema.load(run / "schema.json")
    assert schema.label == "target" and schema.categorical == ["region"]
    assert schema.cardinalities == [4]  # two regions, plus "missing" and "unseen"
    frame.head(5).to_csv(tmp_path / "new.csv", index=False)
    items = load_embedder(run).embed_source(str(tmp_path / "new.csv"))
    assert items.vectors.shape == (5, 256) and items.labels.tolist() == [0] * 5
    assert pd.read_csv(tmp_path / "new.csv").shape[0] == 5


def test_a_bad_numeric_value_is_named_with_its_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,x\n3,oops,y\n4,5,x\n6,7,y\n")
    args = ["train", "--dataset", str(tmp_path / "t.csv"), "--set", "data.label=y",
            "--set", "data.numeric=[a,b]", "--steps", "2", "-o", str(tmp_path / "run")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "line 3, column 'b': expected a number, got 'oops'" in str(result.exception)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("key", ["views.crop_scale=[0.2,1.0]", "model.backbone=resnet18"])
def test_an_image_key_on_a_table_is_named_as_such(tmp_path: Path, key: str) -> None:
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,x\n3,4,y\n4,5,x\n6,7,y\n")
    result = runner.invoke(app, ["train", "--dataset", str(tmp_path / "t.csv"), "--set", key,
                                 "--steps", "2"])  # fmt: skip
    message = str(result.exception)
    assert result.exit_code != 0 and "does not apply to table data" in message
    assert key.split("=")[0] in message and "image" in message
