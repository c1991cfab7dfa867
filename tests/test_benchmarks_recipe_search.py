"""benchmarks/recipe_search.py without training: the grid file is checked before any run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import recipe_search
from benchmarks.methods import _recipe
from benchmarks.recipe_search import read_grid
from tests.helpers.benchmark_fakes import NoImageData, refused_train

GRIDS = Path(__file__).resolve().parent.parent / "benchmarks" / "grids"


def test_a_grid_reads_as_named_override_sets(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("- name: base\n- name: t\n  set: {method.temperature: 0.1}\n")
    assert read_grid(path) == [
        {"name": "base", "set": {}},
        {"name": "t", "set": {"method.temperature": 0.1}},
    ]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{}", "non-empty list"),
        ("- set: {optim.lr: 0.1}", "candidate 0 needs a string 'name'"),
        ("- name: a\n  set: [1]", "'set' must be a mapping"),
        ("- name: a\n- name: a", "appears twice"),
    ],
)
def test_a_bad_grid_is_refused_with_what_is_wrong(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=needle):
        read_grid(path)


@pytest.mark.parametrize("grid", sorted(GRIDS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_packaged_grid_candidate_is_a_valid_config(grid: Path, tmp_path: Path) -> None:
    recipe = grid.stem.rsplit("_round", 1)[0]  # <recipe>_roundN.yaml
    for candidate in read_grid(grid):
        _recipe(recipe, 60, tmp_path / candidate["name"], candidate["set"])


def test_a_bad_candidate_stops_the_search_before_any_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "g.yaml"
    grid.write_text("- name: good\n- name: typo\n  set: {views.crop_scal: [0.5, 1.0]}\n")
    trained: list[object] = []
    monkeypatch.setattr(recipe_search, "train", lambda *a, **k: trained.append(a))
    monkeypatch.setattr(recipe_search, "ImageModality", lambda: pytest.fail("data was read"))
    monkeypatch.setattr(sys, "argv", ["recipe_search", "--grid", str(grid),
                                      "--run-root", str(tmp_path / "runs")])  # fmt: skip
    with pytest.raises(SystemExit):
        recipe_search.main()
    err = capsys.readouterr().err
    assert "candidate 'typo'" in err and "unknown config key 'views.crop_scal'" in err
    assert not trained


@pytest.mark.parametrize("resume", [False, True])
def test_resume_replaces_the_folder_an_unscored_candidate_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resume: bool
) -> None:
    """A stopped search leaves a run folder without a scored row; --resume trains it again
    (overwrite) instead of failing on "holds a run already"; without --resume nothing is
    replaced."""
    grid = tmp_path / "g.yaml"
    grid.write_text("- name: base\n")
    calls, fake_train = refused_train()
    monkeypatch.setattr(recipe_search, "train", fake_train)
    monkeypatch.setattr(recipe_search, "ImageModality", NoImageData)
    monkeypatch.setattr(recipe_search, "validation_split", lambda data: (None, None, None))
    monkeypatch.setattr(recipe_search, "previous_results", lambda name: {"rows": []})
    argv = ["recipe_search", "--grid", str(grid), "--run-root", str(tmp_path / "runs")]
    monkeypatch.setattr(sys, "argv", argv + (["--resume"] if resume else []))
    recipe_search.main()
    assert [c["overwrite"] for c in calls] == [resume]
