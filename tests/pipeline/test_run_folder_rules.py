"""A run folder holds the files of one run: a new run refuses a non-empty folder (one
sentence, nothing touched), `--overwrite` replaces a run without leaving its eval.json or
report behind, a resume refuses config changes beyond budget and device unless allowed,
and a finished run is not "resumed" into a NaN loss and rewritten weights."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from contrastkit.cli import app, main
from contrastkit.config import Config
from contrastkit.pipeline.runs import new_run_dir
from contrastkit.pipeline.settings import load_config

runner = CliRunner()
TINY = ["--dataset", "wine", "--steps", "2", "--batch-size", "16", "--threads", "1",
        "--no-progress", "--no-evaluate", "--no-report"]  # fmt: skip


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _fails(monkeypatch, capsys, *args: str, before: int = 0) -> str:
    """The command's `error:` line (after `before` progress lines, such as "training on
    cpu"); exit status 2, no traceback."""
    monkeypatch.setattr(sys, "argv", ["contrastkit", *args])
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    lines = err.splitlines()
    assert len(lines) == before + 1 and lines[-1].startswith("error: "), err
    assert "Traceback" not in err
    return lines[-1]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def run(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    _ok("train", *TINY, "-o", str(folder))
    return folder


def test_a_new_run_refuses_a_folder_holding_a_run_and_changes_nothing(
    run: Path, monkeypatch, capsys
) -> None:
    before = _snapshot(run)
    err = _fails(monkeypatch, capsys, "train", *TINY, "-o", str(run))
    assert "holds a run already" in err and "--resume" in err and "--overwrite" in err
    assert _snapshot(run) == before


def test_a_new_run_refuses_any_non_empty_folder_even_with_overwrite(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    for extra in ([], ["--overwrite"]):
        err = _fails(monkeypatch, capsys, "train", *TINY, "-o", str(folder), *extra)
        assert "is not empty and holds no contrastkit run" in err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "keep me"


def test_an_empty_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _ok("train", *TINY, "-o", str(tmp_path / "empty"))
    assert (tmp_path / "empty" / "summary.json").is_file()


def test_overwrite_replaces_the_run_and_leaves_nothing_stale(run: Path) -> None:
    for stale in ("eval.json", "eval.txt", "report.html", "checkpoints/step_00000099.pt"):
        (run / stale).write_text("from the previous run")
    (run / "report").mkdir(exist_ok=True)
    (run / "report" / "old.png").write_text("x")
    _ok("train", *TINY, "--seed", "7", "-o", str(run), "--overwrite")
    names = {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()}
    assert not {"eval.json", "eval.txt", "report.html", "report/old.png"} & names
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_00000002.pt"]
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["seed"] == 7


def test_the_default_folder_is_new_even_within_one_second(tmp_path: Path, monkeypatch) -> None:
    import contrastkit.pipeline.runs as runs

    monkeypatch.setattr(runs.time, "strftime", lambda fmt: "20260101-120000")
    cfg: Config = load_config(None, {"data.dataset": "wine", "train.steps": 1})
    first = new_run_dir(cfg, root=tmp_path)
    assert first == tmp_path / "simclr-wine-20260101-120000"
    first.mkdir()
    assert new_run_dir(cfg, root=tmp_path) == tmp_path / "simclr-wine-20260101-120000-2"


def test_resume_refuses_a_changed_config_naming_the_key(run: Path, monkeypatch, capsys) -> None:
    before = _snapshot(run)
    err = _fails(monkeypatch, capsys, "train", "--resume", str(run), "--steps", "4",
                 "--set", "optim.lr=0.5", "--no-progress")  # fmt: skip
    assert "optim.lr" in err and "--allow-config-change" in err
    assert "train.steps" not in err  # the budget may change
    assert _snapshot(run) == before


def test_resume_with_allow_config_change_continues_and_records_it(run: Path) -> None:
    _ok("train", "--resume", str(run), "--steps", "4", "--set", "optim.lr=0.5",
        "--allow-config-change", "--no-progress", "--no-evaluate", "--no-report")  # fmt: skip
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["optim"]["lr"] == 0.5 and saved["train"]["steps"] == 4
    assert (run / "checkpoints" / "step_00000004.pt").is_file()


def test_resume_may_raise_the_budget_without_leave(run: Path) -> None:
    out = _ok("train", "--resume", str(run), "--steps", "3", "--no-progress", "--no-evaluate",
              "--no-report")  # fmt: skip
    assert "trained 3 steps" in out
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["steps"] == 3


def test_resuming_a_finished_run_is_refused_and_its_weights_stay(
    run: Path, monkeypatch, capsys
) -> None:
    before = _snapshot(run)
    err = _fails(monkeypatch, capsys, "train", "--resume", str(run), "--no-progress", before=2)
    assert "has used its budget (step 2)" in err and "--steps" in err
    assert _snapshot(run) == before  # no NaN summary, no rewritten encoder
    err = _fails(monkeypatch, capsys, "train", "--resume", str(run), "--set", "optim.lr=0.5",
                 "--allow-config-change", "--no-progress", before=2)  # fmt: skip
    assert "has used its budget" in err
    assert _snapshot(run) == before  # the change is recorded only once training resumes


def test_resume_refuses_config_and_overwrite(run: Path, monkeypatch, capsys) -> None:
    err = _fails(monkeypatch, capsys, "train", "--resume", str(run), "--overwrite")
    assert "without --config, --output or --overwrite" in err
