"""`contrastkit tune-views` on a tiny real dataset: a table as trials finish, best.yaml
that `config` loads and `train` trains, tune.json with every trial and the agreement of
RankMe with validation kNN; bad input is one sentence and exit 2 before any training."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from contrastkit.cli import app, main
from contrastkit.cli_tune import base_config
from contrastkit.config import parse_override
from contrastkit.evaluate.rank_agreement import spearman_rho
from contrastkit.pipeline.tune_grid import new_levels, view_grid

runner = CliRunner()


def test_tune_views_on_digits_writes_a_recipe_that_trains(tmp_path: Path) -> None:
    out = tmp_path / "tune"
    sets = ["train.batch_size=64", "model.widths=[16,32,64]"]
    group = r"/(\d*)\d$"  # ids "digits/index": ten consecutive images on one side
    args = ["tune-views", "digits", "--budget", "40s", "-o", str(out), "--json", "--group", group]
    result = runner.invoke(app, [*args, *(x for s in sets for x in ("--set", s))])
    assert result.exit_code == 0, result.output
    # the trials the base config (what `train --dataset digits` uses) implies, in order
    base = base_config("digits", None, dict(parse_override(s) for s in sets), 40.0)
    factors = view_grid("image", base.views, channels=1)
    expected = ["base", *(lv.label for f in factors for lv in new_levels(f, base.views))]
    assert f"{len(expected)} trials" in result.output and "best: trial" in result.output
    record = json.loads((out / "tune.json").read_text())
    assert json.loads(result.stdout) == record  # --json: the record alone on stdout
    trials = record["trials"]
    assert [t["trial"] for t in trials] == expected
    assert all(t["steps"] >= 1 and {"knn_top1", "rankme"} <= t["scores"].keys() for t in trials)
    assert trials[0]["views"]["flip_p"] == base.views.flip_p
    assert trials[0]["views"]["crop_scale"] == list(base.views.crop_scale)
    assert record["criterion"] == "knn_top1" and record["split"]["validation"] > 0
    assert (
        record["split"]["group"] == group
        and f"groups of `{group}`" in (out / "tune.md").read_text()
    )
    best = next(t for t in trials if t["index"] == record["best"])  # ties: either is best
    assert best["scores"]["knn_top1"] == max(t["scores"]["knn_top1"] for t in trials)
    a = record["agreement"]
    knn, rank = ([t["scores"][k] for t in trials] for k in ("knn_top1", "rankme"))
    assert a["against"] == "knn_top1" and a["spearman"] == pytest.approx(spearman_rho(rank, knn))
    assert "kendall" in a and "RankMe vs validation kNN" in (out / "tune.md").read_text()
    assert (out / "tune.png").read_bytes()[:4] == b"\x89PNG"

    shown = yaml.safe_load(runner.invoke(app, ["config", str(out / "best.yaml")]).output)
    for key, value in best["views"].items():
        assert shown["views"][key] == value, key
    assert shown["data"]["group"] == group  # the run's own hold-outs take whole groups too
    assert shown["train"]["max_time"] == base.train.max_time  # the base's budget, not 6 s
    run = runner.invoke(app, ["train", "--config", str(out / "best.yaml"), "--steps", "2",
                              "--max-time", "60", "-o", str(tmp_path / "run"), "--no-progress",
                              "--no-evaluate", "--no-report"])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert (tmp_path / "run" / "encoder.safetensors").is_file()


def test_best_yaml_trains_for_a_time_when_the_defaults_chose_the_budget() -> None:
    # `train --dataset digits` alone: 200 epochs or 10 minutes, whichever ends first
    from contrastkit.pipeline.settings import load_train_config

    plain = load_train_config(None, {"data.dataset": "digits"})[0]
    assert (plain.train.epochs, plain.train.max_time) == (200, 600)
    # the search's base keeps the time alone, so a later --max-time T trains for T
    base = base_config("digits", None, {}, 40.0)
    assert (base.train.epochs, base.train.steps, base.train.max_time) == (None, None, 600)
    # a budget the user gave is the user's: kept whole
    given = base_config("digits", None, {"train.epochs": 5}, 40.0)
    assert (given.train.epochs, given.train.max_time) == (5, None)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["no-such-dataset"], "no-such-dataset"),
        (["digits", "--budget", "10s"], "too small for"),
        (["digits", "--budget", "soon"], "--budget must be a duration"),
        (["wine"], "searches the views of image, text and audio"),
        (["digits", "--group", "("], "is not a regular expression"),
        (["digits", "--group", "nomatch"], "does not match item 'digits/0'"),
        (["digits", "--set", "data.group=nomatch"], "does not match item 'digits/0'"),
        (["digits", "--set", "data.group=("], "is not a regular expression"),
    ],
)
def test_bad_input_exits_2_before_any_training(
    tmp_path: Path, monkeypatch, capsys, args: list[str], expected: str
) -> None:
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["contrastkit", "tune-views", *args, "-o", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_a_non_empty_output_folder_is_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "old.txt").write_text("x")
    monkeypatch.setattr(sys, "argv", ["contrastkit", "tune-views", "digits", "-o", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2 and "not empty" in capsys.readouterr().err
