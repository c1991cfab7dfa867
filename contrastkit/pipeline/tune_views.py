"""`contrastkit tune-views`: short proxy trainings over a fixed grid of view strengths,
each scored on a validation split carved from the training items.

Every trial is an ordinary `train()` run (in-process, no evaluation, no report) on the
training items without the validation split, with an equal share of what is left of the
budget (a trial that overran is paid for by the ones after it, so the search ends near its
budget): the first trial is time-boxed, the others train as many steps as it did (within
their share of the time: a slower view may stop earlier; the steps are recorded). Each is
scored on the validation items: with labels, weighted kNN against a bank of the remaining training
items (the labelled criterion, which picks the winner); always, RankMe [1], the effective
rank of the (uncentred) validation embeddings (`evaluate.geometry.effective_rank`), the
label-free criterion that picks the winner of unlabelled data (text pairs: validation
recall@1, the pairs being the data's own supervision).
On labelled data the rank agreement of RankMe with kNN over the trials (Spearman, Kendall)
is reported, so the label-free criterion is checked where it can be.

[1] Garrido, Balestriero, Najman and LeCun, "RankMe: Assessing the downstream performance
    of pretrained self-supervised representations by their rank", ICML 2023.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from contrastkit.config import Config
from contrastkit.data.splits import compile_group
from contrastkit.errors import ContrastkitError
from contrastkit.evaluate.geometry import effective_rank
from contrastkit.evaluate.rank_agreement import kendall_tau, spearman_rho
from contrastkit.evaluate.retrieval import retrieval_metrics
from contrastkit.modalities.base import ItemSet, Modality, classification_scores
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.settings import read_run_config
from contrastkit.pipeline.train_run import train
from contrastkit.pipeline.tune_grid import Factor, new_levels, view_grid
from contrastkit.pipeline.tune_split import ValidationSplit, carve_validation

__all__ = [
    "MIN_TRIAL_SECONDS",
    "Trial",
    "TuneResult",
    "check_budget",
    "trial_count",
    "trial_share",
    "tune_views",
]

MIN_TRIAL_SECONDS = 5.0  # data on the device, one step, embedding the validation items
TRAIN_SHARE = 0.7  # of a trial's share: training (the rest: start-up, scoring)


@dataclass
class Trial:
    """One proxy run: its views, budget and validation scores."""

    index: int
    label: str
    views: dict[str, Any]
    steps: int = 0
    seconds: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)
    run_dir: str = ""


@dataclass
class TuneResult:
    """The search: every trial, the winner and the criterion's agreement with kNN."""

    base: Config
    best: Config
    trials: list[Trial]
    best_index: int
    criterion: str
    agreement: dict[str, Any]
    split: dict[str, Any]
    factors: list[Factor]


def trial_count(factors: list[Factor], base: Config) -> int:
    """Trials of the search: the base and each level that changes the base's views."""
    return 1 + sum(len(new_levels(f, base.views)) for f in factors)


def check_budget(seconds: float, trials: int) -> None:
    """Refuse a budget under MIN_TRIAL_SECONDS per trial (before any training).

    Raises:
        ContrastkitError: the budget is too small for one step per trial.
    """
    if seconds / trials < MIN_TRIAL_SECONDS:
        raise ContrastkitError(
            f"--budget {seconds:g}s is too small for {trials} trials of at least "
            f"{MIN_TRIAL_SECONDS:g}s each (one step and scoring); give at least "
            f"{trials * MIN_TRIAL_SECONDS:g}s"
        )


def trial_share(budget: float, elapsed: float, trials_left: int) -> float:
    """The next trial's seconds: what is left of `budget` after `elapsed` over the trials
    left, never below MIN_TRIAL_SECONDS (one step and scoring)."""
    return max((budget - elapsed) / max(trials_left, 1), MIN_TRIAL_SECONDS)


def _channels(data: Any) -> int | None:
    images = getattr(getattr(data, "train", None), "images", None)
    return int(images.shape[1]) if images is not None and len(images.shape) == 4 else None


def tune_views(
    base: Config,
    budget: float,
    out_dir: Path,
    *,
    log: Callable[[str], None] = print,
    group: str | None = None,
) -> TuneResult:
    """Search the view grid of `base`'s modality within `budget` seconds; trial runs go to
    `out_dir`/trials. Returns every trial and the winning config (`base` with its views).
    `group`: keep the images of one group on one side of the validation split (a regular
    expression on their paths, `tune_split.carve_validation`); None: `data.group`. The
    winning config carries it, so its run's own hold-outs are grouped too.

    Raises:
        ContrastkitError: a modality without a grid, too few items, or a budget under
            MIN_TRIAL_SECONDS per trial (all before any training).
    """
    start = _clock()
    base = _with_group(base, group)
    group = group if group is not None else getattr(base.data, "group", None)
    modality = get_modality(base.data.modality)
    fewest = trial_count(view_grid(modality.name, base.views), base)  # before reading data
    check_budget(budget, fewest)
    data = modality.prepare(base, None)
    factors = view_grid(modality.name, base.views, _channels(data))
    count = trial_count(factors, base)
    check_budget(budget - (_clock() - start), count)
    split = carve_validation(data, base.train.seed, group)
    criterion = _criterion(split)
    share = trial_share(budget, _clock() - start, count)
    log(
        f"{count} trials of {share:.0f}s on {len(split.train_ids):,} training items; "
        f"validation: {len(split.val_ids):,} items; the winner has the best {criterion}"
    )
    log(_header())
    trials: list[Trial] = []
    configs: list[Config] = []
    steps: int | None = None  # of the first (time-boxed) trial; the others train as many

    def run(label: str, cfg: Config) -> None:
        nonlocal steps
        trial = Trial(len(trials), label, _views_of(cfg, factors))
        trial.run_dir = str(out_dir / "trials" / f"{trial.index:02d}")
        left = max(count, len(trials) + 1) - len(trials)  # the greedy path may add a trial
        _run_trial(trial, cfg, modality, split, trial_share(budget, _clock() - start, left), steps)
        steps = steps or max(trial.steps, 1)
        trials.append(trial)
        configs.append(cfg)
        log(_row(trial))

    run("base", base)
    for factor in factors:  # each level from the best views so far; then keep the best
        start_cfg = configs[_best(trials, criterion)]
        for level in new_levels(factor, start_cfg.views):
            run(level.label, _with_views(start_cfg, level.values))
    best = _best(trials, criterion)
    return TuneResult(
        base, configs[best], trials, best, criterion, _agreement(trials),
        {"train": len(split.train_ids), "validation": len(split.val_ids),
         "bank": len(split.bank), **({"group": group} if group else {})}, factors,
    )  # fmt: skip


def _with_group(base: Config, group: str | None) -> Config:
    """`base` with `data.group` = `group` where its data section has the key (image data);
    other data keeps `group` out and `carve_validation` refuses it."""
    if group is None or "group" not in type(base.data).model_fields:
        return base
    compile_group(group)  # an invalid pattern stops here, named, before the data is read
    out = base.model_copy(deep=True)
    out.data.group = group
    return out


def _criterion(split: ValidationSplit) -> str:
    """The score that picks the winner: kNN with labels, recall@1 of text pairs, else
    RankMe."""
    if split.queries.labels is not None:
        return "knn_top1"
    return "recall@1" if split.positives is not None else "rankme"


def _best(trials: list[Trial], criterion: str) -> int:
    """The first trial with the highest criterion (RankMe breaks ties)."""
    keys = [(t.scores.get(criterion, float("-inf")), t.scores.get("rankme", 0.0)) for t in trials]
    return max(range(len(trials)), key=lambda i: (keys[i], -i))


def _with_views(cfg: Config, values: dict[str, Any]) -> Config:
    out = cfg.model_copy(deep=True)
    for key, value in values.items():
        setattr(out.views, key, value)
    return out


def _views_of(cfg: Config, factors: list[Factor]) -> dict[str, Any]:
    """The values of every key the grid sets (JSON-ready)."""
    keys = dict.fromkeys(k for f in factors for level in f.levels for k in level.values)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in
            ((k, getattr(cfg.views, k)) for k in keys)}  # fmt: skip


def _clock() -> float:
    """Seconds on a monotonic clock (a function, so tests can replace it)."""
    return time.monotonic()


def _proxy_config(cfg: Config, run_dir: str, share: float, steps: int | None) -> Config:
    """`cfg` as a proxy run: its budget, no monitor, no checkpoints, csv logs only."""
    out = cfg.model_copy(deep=True)
    t = out.train
    t.epochs, t.steps = None, steps
    t.max_time = TRAIN_SHARE * share  # the rest of the share: start-up and scoring
    t.monitor_every, t.checkpoint_every, t.loggers = 0, 10**9, ["csv"]
    t.run_dir = run_dir
    return out


def _run_trial(
    trial: Trial,
    cfg: Config,
    modality: Modality,
    split: ValidationSplit,
    share: float,
    steps: int | None,
) -> None:
    """Train one proxy run (through `train`) and score it on the validation split."""
    began = time.monotonic()
    proxy = _proxy_config(cfg, trial.run_dir, share, steps)
    result, run_dir = train(proxy, run_dir=trial.run_dir, progress=False, data=split.train)
    trial.steps = result.steps
    trial.scores = score_trial(modality, read_run_config(run_dir), split, run_dir)
    trial.seconds = time.monotonic() - began


def score_trial(
    modality: Modality, cfg: Config, split: ValidationSplit, run_dir: Path
) -> dict[str, float]:
    """Validation scores of a finished run: rankme always, knn_top1 with labels (bank: the
    training items), recall@1 with text pairs."""
    model = modality.load_trained(cfg, split.train, run_dir)

    def embed(items: ItemSet) -> torch.Tensor:
        with torch.no_grad():
            return torch.as_tensor(modality.embed(model, items, cfg, split.train)).float()

    queries = embed(split.queries)
    scores = {"rankme": effective_rank(queries, centred=False)}
    if split.queries.labels is not None and split.bank.labels is not None:
        knn_cfg = cfg.model_copy(deep=True)
        knn_cfg.eval.linear = False
        knn_cfg.eval.retrieval = False
        scores["knn_top1"] = classification_scores(
            embed(split.bank), torch.as_tensor(split.bank.labels), queries,
            torch.as_tensor(split.queries.labels), knn_cfg,
            standardize=getattr(modality, "standardize", False),
        )["knn_top1"]  # fmt: skip
    if split.positives is not None:
        found = retrieval_metrics(queries, embed(split.positives), torch.arange(len(queries)))
        scores["recall@1"] = found["recall@1"]
    return scores


def _agreement(trials: list[Trial]) -> dict[str, Any]:
    """Spearman and Kendall agreement of RankMe over the trials with validation kNN (text
    pairs without labels: recall@1); None without either or with fewer than 3 trials."""
    against = next((k for k in ("knn_top1", "recall@1") if k in trials[0].scores), None)
    if against is None:
        return {"criterion": "rankme", "against": None, "spearman": None, "kendall": None}
    rank = [t.scores["rankme"] for t in trials]
    other = [t.scores[against] for t in trials]
    return {"criterion": "rankme", "against": against, "trials": len(trials),
            "spearman": spearman_rho(rank, other), "kendall": kendall_tau(rank, other)}  # fmt: skip


def _header() -> str:
    return f"{'#':>2}  {'trial':<16} {'steps':>6} {'kNN':>6} {'RankMe':>7} {'R@1':>6} {'time':>6}"


def _row(t: Trial) -> str:
    def pct(key: str) -> str:
        return f"{t.scores[key]:.3f}" if key in t.scores else "-"

    return (
        f"{t.index:>2}  {t.label:<16} {t.steps:>6} {pct('knn_top1'):>6} "
        f"{t.scores.get('rankme', 0.0):>7.1f} {pct('recall@1'):>6} {t.seconds:>5.0f}s"
    )
