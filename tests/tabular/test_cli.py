"""`contrastkit train-table` through typer's CliRunner on a small budget."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from contrastkit.cli_table import register
from contrastkit.data.tabular import read_table
from contrastkit.pipeline.table_run import load_table_run


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def version() -> None:  # a second command, so typer keeps command names
        """Unused."""

    return app


def test_train_table_on_a_csv_writes_encoder_schema_and_summary(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["region"] = ["north" if i % 3 else "south" for i in range(len(frame))]  # a categorical
    frame.to_csv(tmp_path / "wine.csv", index=False)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        _app(),
        [
            "train-table",
            str(tmp_path / "wine.csv"),
            "--label",
            "target",
            "--method",
            "barlow_twins",
            "--steps",
            "20",
            "--batch-size",
            "32",
            "--fractions",
            "0.1",
            "--fine-tune-steps",
            "20",
            "--no-progress",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "contrastive encoder" in result.output and "scratch" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 20 and summary["categorical"] == ["region"]
    assert set(summary["linear_probe"]) == {
        "raw features",
        "random-init encoder",
        "contrastive encoder",
    }
    encoder, schema = load_table_run(out)
    assert schema.label == "target" and schema.cardinalities == [4]
    packed = schema.transform(read_table(pd.read_csv(tmp_path / "wine.csv"), label="target"))
    assert encoder(packed[:4]).shape == (4, encoder.output_dim)


def test_bad_numeric_value_is_reported(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,x\n3,oops,y\n4,5,x\n6,7,y\n")
    result = CliRunner().invoke(
        _app(),
        [
            "train-table",
            str(tmp_path / "t.csv"),
            "--label",
            "y",
            "--numeric",
            "a,b",
            "--steps",
            "2",
            "--no-progress",
            "--output",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code != 0
    assert "line 3, column 'b': expected a number, got 'oops'" in str(result.exception)
