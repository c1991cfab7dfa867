"""benchmarks/defaults.py without training: mean and std over seeds, the verdicts, the
guard on --tune and the argument checks."""

from __future__ import annotations

import sys

import pytest

from benchmarks import defaults


def _rows() -> list[dict]:
    values = {"trained encoder (simclr)": [0.90, 0.92, 0.94], "raw pixels": [0.80] * 3,
              "random-init encoder": [0.89, 0.93, 0.91]}  # fmt: skip
    return [
        {"system": system, "metric": "knn_top1", "value": v, "dataset": "twemoji",
         "variant": "default", "seed": seed}
        for system, vs in values.items()
        for seed, v in enumerate(vs)
    ]  # fmt: skip


def test_summaries_are_mean_and_sample_std_per_system() -> None:
    means = {r["system"]: r for r in defaults.summaries(_rows())}
    trained = means["trained encoder (simclr)"]
    assert trained["value"] == pytest.approx(0.92) and trained["std"] == pytest.approx(0.02)
    assert trained["n"] == 3 and trained["seed"] is None and trained["dataset"] == "twemoji"
    assert means["raw pixels"]["std"] == 0.0


def test_a_win_needs_a_gap_larger_than_the_stds() -> None:
    (line,) = defaults.verdicts(defaults.summaries(_rows()))
    assert line["beats raw pixels"] is True
    assert line["beats random-init encoder"] is False  # 0.92 vs 0.91, stds 0.02 each


def test_one_seed_gives_no_verdict() -> None:
    rows = [r for r in _rows() if r["seed"] == 0]
    (line,) = defaults.verdicts(defaults.summaries(rows))
    assert line["beats raw pixels"] is None and line["beats random-init encoder"] is None


def test_system_names() -> None:
    assert defaults._system("contrastkit simclr") == "trained encoder (simclr)"
    assert defaults._system("raw pixels") == "raw pixels"


def test_tune_without_tune_views_is_refused_before_any_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(defaults, "has_tune_views", lambda: False)
    monkeypatch.setattr(defaults, "export_image_folder", pytest.fail)  # nothing is written
    monkeypatch.setattr(sys, "argv", ["defaults", "--tune", "--sets", "twemoji"])
    with pytest.raises(SystemExit) as exc:
        defaults.main()
    assert exc.value.code == 2
    assert "tune-views" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--sets", "cifar10"], "unknown set"), (["--budget", "soon"], "--budget"),
     (["--tune-share", "1.5"], "--tune-share"), (["--variants", "best"], "--variants")],
)  # fmt: skip
def test_bad_arguments(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv, message
) -> None:
    monkeypatch.setattr(defaults, "export_image_folder", pytest.fail)
    monkeypatch.setattr(sys, "argv", ["defaults", *argv])
    with pytest.raises(SystemExit):
        defaults.main()
    assert message in capsys.readouterr().err


def test_resume_runs_only_the_missing_seeds_and_averages_over_all(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import json

    from benchmarks import common

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    earlier = [r for r in _rows() if r["seed"] == 0]
    (tmp_path / "out.json").write_text(json.dumps({
        "command": "python -m benchmarks.defaults --seeds 1", "rows": earlier,
        "runs": [{"dataset": "twemoji", "variant": "default", "seed": 0,
                  "competing_load": False}],
    }))  # fmt: skip
    later = {r["seed"]: r for r in _rows() if r["seed"] > 0}
    called: list[int] = []

    def run_one(folder, runs, variant, seed, budget, share, group=None):
        called.append(seed)
        assert group is None  # twemoji: tune-views splits per image
        rows = [{"system": "contrastkit simclr" if "trained" in r["system"] else r["system"],
                 "metric": r["metric"], "value": r["value"]}
                for r in _rows() if r["seed"] == seed]  # fmt: skip
        del later[seed]
        return {"rows": rows, "load": {"competing_load": False}, "steps": 1,
                "train_seconds": 1.0, "wall_seconds": 1.0}  # fmt: skip

    monkeypatch.setattr(
        defaults, "export_image_folder", lambda name, folder: {"train": 1, "test": 1}
    )
    monkeypatch.setattr(defaults, "run_one", run_one)
    argv = ["defaults", "--sets", "twemoji", "--seeds", "3", "--output", "out", "--resume"]
    monkeypatch.setattr(sys, "argv", [*argv, "--root", str(tmp_path)])
    defaults.main()
    assert called == [1, 2]
    written = json.loads((tmp_path / "out.json").read_text())
    means = {r["system"]: r for r in written["rows"] if r["seed"] is None}
    assert means["trained encoder (simclr)"]["n"] == 3
    assert means["trained encoder (simclr)"]["value"] == pytest.approx(0.92)
    assert len(written["commands"]) == 2 and len(written["runs"]) == 3


def test_a_runs_log_keeps_a_dotted_run_name() -> None:
    from pathlib import Path

    run = Path("runs") / "stroke0.5-seed0"  # with_suffix would give runs/stroke0.log
    assert defaults._beside(run, ".log") == Path("runs/stroke0.5-seed0.log")


def test_the_font_letters_group_is_the_font_in_the_file_name() -> None:
    from contrastkit.data.splits import group_keys

    names = ["a/00000-1015sn-a.png", "b/00001-1015sn-b.png", "a/00026-1015snr-a.png"]
    assert group_keys(names, defaults.TUNE_GROUPS["font-letters"]) == ["1015sn", "1015sn",
                                                                       "1015snr"]  # fmt: skip
