"""The search of `tune-views` (trainings replaced by set scores): each factor starts from
the best views so far, the first trial is time-boxed and the others train its steps, the
winner is the best trial's config with the base's budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrastkit.pipeline import tune_views as tv
from contrastkit.pipeline.settings import load_config

SCORES = {"base": 0.5, "crop 0.2": 0.7, "crop 0.5": 0.6, "flip off": 0.4, "stroke on": 0.65,
          "blur off": 0.8}  # fmt: skip


def test_each_factor_starts_from_the_best_so_far(tmp_path: Path, monkeypatch) -> None:
    budgets = []

    def fake(trial, cfg, modality, split, share, steps) -> None:
        proxy = tv._proxy_config(cfg, trial.run_dir, share, steps)
        budgets.append((proxy.train.steps, proxy.train.max_time))
        trial.steps = steps or 17
        trial.scores = {"knn_top1": SCORES[trial.label], "rankme": 10 * SCORES[trial.label]}

    monkeypatch.setattr(tv, "_run_trial", fake)
    base = load_config(None, {"data.dataset": "digits", "train.epochs": 3})
    lines: list[str] = []
    result = tv.tune_views(base, 100.0, tmp_path, log=lines.append)
    views = {t.label: t.views for t in result.trials}
    assert list(views) == ["base", "crop 0.2", "crop 0.5", "flip off", "stroke on", "blur off"]
    assert views["flip off"]["crop_scale"] == [0.2, 1.0]  # from the best crop
    assert views["stroke on"]["stroke_p"] == 0.5 and views["stroke on"]["flip_p"] == 0.5
    assert views["blur off"] == {"crop_scale": [0.2, 1.0], "flip_p": 0.5, "stroke_p": 0.0,
                                 "blur_p": 0.0}  # fmt: skip
    assert result.best_index == 5 and result.best.views.blur_p == 0.0
    assert tuple(result.best.views.crop_scale) == (0.2, 1.0)
    assert result.best.train.epochs == 3 and result.best.train.max_time is None  # base's
    first, *rest = budgets
    assert first[0] is None and first[1] == pytest.approx(0.7 * 100 / 6, rel=0.1)
    assert all(steps == 17 for steps, _ in rest)
    assert result.agreement["spearman"] == pytest.approx(1.0)
    assert len(lines) == 2 + 6  # the plan, the header, a row per trial as it finishes


def test_rankme_agreement_is_with_knn_else_with_pair_recall() -> None:
    def trials(key: str, values: list[float], ranks: list[float]) -> list[tv.Trial]:
        return [
            tv.Trial(i, str(i), {}, scores={key: v, "rankme": r})
            for i, (v, r) in enumerate(zip(values, ranks, strict=True))
        ]

    labelled = tv._agreement(trials("knn_top1", [0.5, 0.6, 0.7, 0.8], [4.0, 3.0, 2.0, 1.0]))
    assert labelled["against"] == "knn_top1" and labelled["spearman"] == pytest.approx(-1.0)
    pairs = tv._agreement(trials("recall@1", [0.5, 0.6, 0.7], [1.0, 2.0, 3.0]))
    assert pairs["against"] == "recall@1" and pairs["kendall"] == pytest.approx(1.0)
    assert tv._agreement(trials("other", [1, 2, 3], [1, 2, 3]))["spearman"] is None


def test_a_trial_that_overran_is_paid_for_by_the_ones_after_it(tmp_path: Path, monkeypatch) -> None:
    now = [0.0]
    shares: list[float] = []

    def fake(trial, cfg, modality, split, share, steps) -> None:
        shares.append(share)
        now[0] += 2 * share if trial.index == 0 else share  # the first trial takes twice its share
        trial.steps = 17
        trial.scores = {"knn_top1": SCORES[trial.label], "rankme": 1.0}

    monkeypatch.setattr(tv, "_clock", lambda: now[0])
    monkeypatch.setattr(tv, "_run_trial", fake)
    base = load_config(None, {"data.dataset": "digits", "train.epochs": 3})
    tv.tune_views(base, 120.0, tmp_path, log=lambda line: None)
    assert shares[0] == pytest.approx(20.0)  # 120 s over 6 trials
    assert shares[1:] == pytest.approx([16.0] * 5)  # the 80 s left over the 5 trials left
    assert now[0] == pytest.approx(120.0)  # the search ends on its budget, not 20 s later


def test_trial_share_never_drops_under_one_step() -> None:
    assert tv.trial_share(100.0, 40.0, 4) == pytest.approx(15.0)
    assert tv.trial_share(100.0, 120.0, 2) == tv.MIN_TRIAL_SECONDS  # overrun: the minimum
    assert tv.trial_share(100.0, 0.0, 0) == pytest.approx(100.0)  # no division by zero
