"""`contrastkit --version`, and `contrastkit config`: the validated config a run would use,
printed as YAML without training; a bad config is the one sentence `train` prints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from contrastkit import __version__
from contrastkit.cli import app, main, package_version

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_version_prints_the_package_version() -> None:
    out = _ok("--version")
    assert out == f"contrastkit {package_version()}\n"
    assert package_version() == __version__  # the installed metadata agrees with the code


def test_version_falls_back_to_the_module_attribute(monkeypatch) -> None:
    import importlib.metadata as metadata

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert package_version() == __version__


def test_config_prints_every_key_of_the_run_it_describes(tmp_path: Path) -> None:
    flags = ["--dataset", "wine", "--set", "train.steps=2", "--set", "optim.lr=0.01"]
    shown = yaml.safe_load(_ok("config", *flags))
    run = tmp_path / "run"
    _ok("train", *flags, "--set", "train.batch_size=16", "-o", str(run), "--no-progress",
        "--no-evaluate", "--no-report")  # fmt: skip
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert shown.keys() == saved.keys()
    for section in saved:
        assert shown[section].keys() == saved[section].keys(), section
    assert shown["optim"]["lr"] == saved["optim"]["lr"] == 0.01
    assert shown["data"]["modality"] == "table" and shown["train"]["steps"] == 2

    # a run folder prints its own config.yaml, with overrides applied
    assert yaml.safe_load(_ok("config", str(run))) == saved
    assert yaml.safe_load(_ok("config", str(run), "--set", "train.steps=9"))["train"]["steps"] == 9


def test_config_reads_a_recipe_and_resolves_against_the_data(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data:\n  dataset: digits\nmethod:\n  name: byol\ntrain:\n  steps: 5\n")
    shown = yaml.safe_load(_ok("config", str(recipe)))
    assert shown["method"]["name"] == "byol" and shown["views"]["mean"] is None
    resolved = yaml.safe_load(_ok("config", str(recipe), "--resolve"))
    assert len(resolved["views"]["mean"]) == 1  # grey digits: one channel's statistics


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "optim.lr=-1"], "optim.lr"),
        (["--set", "optim.lrr=0.1"], "optim.lrr"),
        (["--method", "simclrr"], "simclrr"),
        (["nope.yaml"], "nope.yaml"),
    ],
)
def test_a_bad_config_is_one_sentence_and_status_2(
    args: list[str], expected: str, monkeypatch, capsys, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["contrastkit", "config", *args, "--set", "train.steps=1"])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    assert info.value.code == 2 and captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert expected in captured.err and "Traceback" not in captured.err
