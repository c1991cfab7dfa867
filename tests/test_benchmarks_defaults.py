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
