"""Run records are strict JSON (NaN and infinities become null with a reason) and every file
a run writes, atomic writes included, gets the mode the umask gives (0644 under 022)."""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from contrastkit.config import Config
from contrastkit.files import atomic_write, current_umask, finite_json, write_json
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train


def _strict(text: str) -> object:
    """json.loads that refuses NaN, Infinity and -Infinity, as strict parsers do."""

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _tiny(run: Path, steps: int) -> Config:
    """A wine run of `steps` steps (about a second)."""
    return load_config(None, {"data.dataset": "wine", "train.steps": steps,
                              "train.batch_size": 16, "train.threads": 1,
                              "train.run_dir": str(run)})  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_strict_parser_of_these_tests_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        _strict(json.dumps({"x": float("nan")}))


def test_non_finite_numbers_become_null_with_a_reason(tmp_path: Path) -> None:
    payload = {
        "final_loss": float("nan"),
        "steps": 3,
        "rows": [{"metric": "knn", "value": float("inf")}, {"value": -math.inf}],
        "spread": [1.0, float("nan")],
    }
    write_json(tmp_path / "summary.json", payload)
    got = _strict((tmp_path / "summary.json").read_text())
    assert got == {
        "final_loss": None,
        "final_loss_reason": "non-finite (nan)",
        "steps": 3,
        "rows": [
            {"metric": "knn", "value": None, "value_reason": "non-finite (inf)"},
            {"value": None, "value_reason": "non-finite (-inf)"},
        ],
        "spread": [1.0, None],
    }


def test_a_reason_already_given_is_kept() -> None:
    got = finite_json({"x": float("nan"), "x_reason": "no labels"})
    assert got == {"x": None, "x_reason": "no labels"}


def test_a_non_finite_number_that_slips_through_fails_loudly(tmp_path: Path, monkeypatch) -> None:
    """The safety net: were `finite_json` to miss one, no invalid file is written."""
    import contrastkit.files as files

    monkeypatch.setattr(files, "finite_json", lambda value: value)
    with pytest.raises(ValueError, match="Out of range float"):
        write_json(tmp_path / "bad.json", {"x": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_summary_json_of_a_run_with_a_nan_loss_is_strict(tmp_path: Path, monkeypatch) -> None:
    """The bug this guards: a run whose last loss was NaN wrote `NaN` into summary.json."""
    from contrastkit.train.trainer import Trainer

    fit = Trainer.fit

    def nan_loss(self, *args, **kwargs):
        result = fit(self, *args, **kwargs)
        result.final_loss = float("nan")
        return result

    monkeypatch.setattr(Trainer, "fit", nan_loss)
    train(_tiny(tmp_path / "run", steps=1), progress=False)
    summary = _strict((tmp_path / "run" / "summary.json").read_text())
    assert summary["final_loss"] is None
    assert summary["final_loss_reason"] == "non-finite (nan)"


def test_eval_json_with_a_nan_value_is_strict(tmp_path: Path, monkeypatch) -> None:
    from contrastkit.modalities.registry import get_modality
    from contrastkit.pipeline.evaluate_run import evaluate

    train(_tiny(tmp_path / "run", steps=1), progress=False)
    scores = {"knn_accuracy": float("nan"), "effective_rank": 3.5}
    monkeypatch.setattr(type(get_modality("table")), "score", lambda *args: scores)
    evaluate(tmp_path / "run", baselines=False, linear=False)
    rows = _strict((tmp_path / "run" / "eval.json").read_text())["rows"]
    assert rows[0] == {"system": "contrastkit simclr", "metric": "knn_accuracy", "value": None,
                       "value_reason": "non-finite (nan)"}  # fmt: skip
    assert rows[1]["value"] == 3.5 and "value_reason" not in rows[1]


def test_current_umask_reads_without_changing_it(umask_022: None) -> None:
    assert current_umask() == 0o022
    assert current_umask() == 0o022


def test_atomic_writes_honour_the_umask(tmp_path: Path, umask_022: None) -> None:
    atomic_write(tmp_path / "a.txt", lambda tmp: Path(tmp).write_text("x"))
    assert _mode(tmp_path / "a.txt") == 0o644
    os.umask(0o077)
    atomic_write(tmp_path / "b.txt", lambda tmp: Path(tmp).write_text("x"))
    assert _mode(tmp_path / "b.txt") == 0o600


def test_every_file_of_a_run_is_0644_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    """The bug this guards: weights, checkpoints and config.yaml were 0600 whatever the
    umask (atomic writes go through mkstemp)."""
    run = tmp_path / "run"
    train(_tiny(run, steps=2), progress=False)
    files = [p for p in run.rglob("*") if p.is_file()]
    names = {str(p.relative_to(run)) for p in files}
    assert {"config.yaml", "encoder.safetensors", "method.safetensors", "summary.json",
            "checkpoints/step_00000002.pt", "metrics.csv"} <= names  # fmt: skip
    assert {str(p.relative_to(run)): oct(_mode(p)) for p in files} == {
        name: oct(0o644) for name in names
    }
