"""One output vocabulary across commands: every command that prints a table takes `--json`
(one JSON document on stdout, notices on stderr), scores print as fractions, the output
flag is -o/--output (old spellings still work, hidden), and progress bars go to stderr,
forced by --progress and silenced by --no-progress."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from contrastkit.cli import app
from tests.helpers.tiny_runs import tiny_run

runner = CliRunner()
# Commands that print one line saying what they wrote, not a table.
NO_TABLE = {"index", "embed", "report", "export"}


def _invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _json(*args: str):
    """The command's stdout parsed as one JSON document (it must hold nothing else)."""
    return json.loads(_invoke(*args, "--json").stdout)


def _commands() -> dict[str, Any]:
    """The app's commands by name (typer's own click objects)."""
    return dict(typer.main.get_command(app).commands)


def _flags(command: Any) -> dict[str, list[str]]:
    """Visible options: parameter name -> its flags."""
    return {
        p.name: [*p.opts, *p.secondary_opts]
        for p in command.params
        if p.param_type_name == "option" and not p.hidden and p.name
    }


@pytest.fixture(scope="module")
def table_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run("table", tmp_path_factory.mktemp("cli-output"), evaluated=True)[0]


def test_every_command_that_prints_a_table_accepts_json() -> None:
    commands = _commands()
    assert NO_TABLE.issubset(commands)
    missing = [
        name
        for name, command in commands.items()
        if name not in NO_TABLE and "--json" not in _flags(command).get("as_json", [])
    ]
    assert not missing, f"no --json on: {missing}"


def test_one_flag_vocabulary_across_commands() -> None:
    for name, command in _commands().items():
        flags = _flags(command)
        if "output" in flags:  # the file or folder a command writes
            assert flags["output"] == ["--output", "-o"], name
        assert "run_dir" not in flags and "data" not in flags, name  # old names: hidden
        if "progress" in flags:
            assert flags["progress"] == ["--progress", "--no-progress"], name
    for name in ("train", "evaluate", "embed", "index", "anomalies", "report", "finetune", "bench"):
        assert "progress" in _flags(_commands()[name]), name
    assert "dataset" in _flags(_commands()["index"])  # as train, embed and finetune call it


def test_old_flag_spellings_still_work_and_clash_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "-o", str(tmp_path / "a"), "--run-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "--run-dir" in str(result.exception) and "differ" in str(result.exception)
    result = runner.invoke(app, ["index", "x", "-o", "y", "--dataset", "a", "--data", "b"])
    assert "--data b (its old name)" in str(result.exception)


def test_evaluate_json_is_the_eval_json_document(table_run: Path) -> None:
    shown = _json("evaluate", str(table_run), "--device", "cpu", "--no-progress")
    saved = json.loads((table_run / "eval.json").read_text())
    assert shown == saved and shown["rows"]
    assert {"system", "metric", "value"} <= set(shown["rows"][0])
    # the table prints the same scores as fractions with three decimals
    table = _invoke("evaluate", str(table_run), "--device", "cpu", "--no-progress").stdout
    top1 = next(r for r in shown["rows"] if r["metric"] == "knn_top1")
    assert f"{top1['value']:.3f}" in table and "%" not in table


def test_train_json_holds_summary_and_evaluation(tmp_path: Path) -> None:
    run = tmp_path / "run"
    out = _json("train", "--dataset", "wine", "--set", "train.steps=2", "--set",
                "train.batch_size=16", "--threads", "1", "-o", str(run), "--no-report",
                "--no-progress")  # fmt: skip
    assert out["run_dir"] == str(run) and out["summary"]["steps"] == 2
    assert out["evaluation"] == json.loads((run / "eval.json").read_text())
    assert out["report"] is None  # --no-report


def test_catalog_commands_print_json_lists() -> None:
    recipes = _json("recipes")
    assert recipes and {"name", "summary", "path"} <= set(recipes[0])
    methods = {m["name"]: m for m in _json("methods", "--keys")}
    assert methods["supcon"]["uses_labels"] and "method.temperature" in methods["simclr"]["keys"]
    datasets = {d["modality"]: d for d in _json("datasets")}
    assert "digits" in datasets["image"]["datasets"]
    config = _json("config", "--dataset", "wine", "--set", "train.max_time=5m")
    assert config["train"]["max_time"] == 300  # a time budget with its unit


def test_finetune_json_is_its_file_document(tmp_path: Path) -> None:
    run = tiny_run("image", tmp_path)[0]
    out = _json("finetune", str(run), "--dataset", "digits", "--labels", "0.1", "--steps", "2",
                "--lr", "1e-3", "--threads", "1", "--device", "cpu", "--no-progress")  # fmt: skip
    assert out == json.loads((run / "finetune-digits.json").read_text())
    assert {r["metric"] for r in out["rows"]} == {"accuracy@0.1 labels"}  # a fraction
    assert all(0 <= r["value"] <= 1 for r in out["rows"])


def test_progress_bars_go_to_stderr_when_forced(table_run: Path) -> None:
    forced = _invoke("evaluate", str(table_run), "--device", "cpu", "--json", "--progress")
    json.loads(forced.stdout)  # nothing but the document on stdout
    assert "evaluate: 100%" in forced.stderr and "system" in forced.stderr
    quiet = _invoke("evaluate", str(table_run), "--device", "cpu", "--json", "--no-progress")
    assert "100%" not in quiet.stderr
    default = _invoke("evaluate", str(table_run), "--device", "cpu", "--json")
    assert "100%" not in default.stderr  # stderr is not a terminal here


def test_report_shows_its_steps(table_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    result = _invoke("report", str(table_run), "-o", str(out), "--points", "40", "--bank", "40",
                     "--projection", "pca", "--progress")  # fmt: skip
    assert out.is_file() and "report: 100%" in result.stderr and "100%" not in result.stdout


def test_folder_decoding_and_probe_search_show_bars(tmp_path: Path, capsys, monkeypatch) -> None:
    import numpy as np
    import torch
    from PIL import Image

    import contrastkit.data.folder as folder
    from contrastkit.evaluate.semi_supervised import probe_on_validation
    from contrastkit.progress import progress_bars

    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(np.full((4, 4), 40 * i, np.uint8)).save(tmp_path / label / f"{i}.png")
    monkeypatch.setattr(folder, "DECODE_BAR_DELAY", 0.0)  # a big folder's wait, made short
    with progress_bars(True):
        assert len(folder.load_image_folder(tmp_path).images) == 6
        x, y = torch.randn(20, 3), torch.arange(20) % 2
        probe_on_validation((x, y), (x, y), (x, y), 2, cs=(0.1, 1.0))
    err = capsys.readouterr().err
    assert f"decode {tmp_path.name}: 100%" in err and "6/6" in err
    assert "probe C:" in err  # a bar that leaves no line when done
    with progress_bars(False):
        folder.load_image_folder(tmp_path)
    assert "decode" not in capsys.readouterr().err
