"""`contrastkit finetune`: transfer a run's encoder to a labelled downstream dataset.

With each share of the downstream training labels (0.01, 0.1 and 1 by default), these are
scored on the downstream test items: the run's encoder frozen under a linear probe and
fine-tuned end to end; the same architecture from random initialisation (the weights the
run itself started from, for the first seed) under a linear probe and trained on those
labels only; and a linear probe of the modality's raw-input baseline (raw pixels). The
downstream set is read as the run reads its data (same modality; images at the run's size
and channels).

Splits: the downstream set's own test split where it has one, else `TEST_SHARE` of each
class held out; `VALIDATION_SHARE` of each class of the training items is carved off to
choose the fine-tuning learning rate and step and the probe's L2 strength; the test items
are scored once with what was chosen. Both carves are the same for every seed; a seed
changes the label subsets, the random initialisation and the fine-tuning batches.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.evaluate.report import format_records
from contrastkit.evaluate.semi_supervised import (
    classifier_accuracy,
    embed_tensors,
    fine_tune_on_validation,
    label_subset,
    probe_on_validation,
)
from contrastkit.files import write_json
from contrastkit.modalities.base import Modality
from contrastkit.modalities.registry import MODALITIES, canonical_dataset, get_modality
from contrastkit.pipeline.evaluate_run import load_run_model
from contrastkit.pipeline.settings import read_run_config
from contrastkit.progress import bar
from contrastkit.train.devices import resolve_device

__all__ = ["DEFAULT_LRS", "DEFAULT_SHARES", "Downstream", "Transfer", "finetune", "read_downstream"]

DEFAULT_SHARES = (0.01, 0.1, 1.0)
DEFAULT_LRS = (3e-3, 1e-3, 3e-4)  # AdamW, cosine schedule; chosen per run on validation
PROBE_CS = (0.1, 1.0, 10.0, 100.0)  # the linear probe's inverse L2 strength (scikit-learn's C)
CHECKS = 5  # validation points per fine-tuning run
VALIDATION_SHARE = 0.2  # of each class of the downstream training items
TEST_SHARE = 0.2  # of each class, held out of a downstream set without a test split
SPLIT_SEED = 0


@dataclass
class Downstream:
    """A labelled downstream set, split for transfer.

    Attributes:
        train, validation, test: (items (N, ...), labels (N,) int64) each; label shares are
            drawn from `train`.
        num_classes: classes of the new linear layer.
        description: one line: where the items come from and how they were split.
    """

    train: tuple[Tensor, Tensor]
    validation: tuple[Tensor, Tensor]
    test: tuple[Tensor, Tensor]
    num_classes: int
    description: str


@dataclass
class Transfer:
    """What `finetune` measured: rows {"system", "metric", "value", ...} (value: the mean
    over seeds), the file they were written to, and notes (skipped rows, split sizes)."""

    rows: list[dict[str, Any]]
    path: Path
    notes: list[str] = field(default_factory=list)
    replaced: bool = False

    def table(self) -> str:
        """The rows as `contrastkit evaluate` prints them (mean ± std over several seeds)."""
        shown = [
            {**r, "value": f"{r['value']:.3f} ± {r['std']:.3f}"} if "std" in r else r
            for r in self.rows
        ]
        return format_records(shown)


def read_downstream(modality: Modality, cfg, data, source: str) -> Downstream:
    """`source` read by the run's modality adapter and split into train, validation, test.

    Raises:
        ContrastkitError: the source has no labels, or too few items per class to hold
            out validation and test items.
    """
    train, test = modality.labelled_source(cfg, data, source)
    for part in (train, test):
        if part is not None and part.labels is None:
            raise ContrastkitError(
                f"{source} has no labels: fine-tuning needs a labelled set (images and audio: "
                "one subfolder per class)"
            )
    x, y = train.items, torch.as_tensor(train.labels, dtype=torch.long)
    if test is None:
        (x, y), held = _carve(x, y, TEST_SHARE)
        test_from = f"{TEST_SHARE:.0%} of each class held out (it has no test split)"
    else:
        held = test.items, torch.as_tensor(test.labels, dtype=torch.long)
        test_from = "its own test split"
    (x, y), validation = _carve(x, y, VALIDATION_SHARE)
    if not len(validation[1]) or not len(held[1]):
        raise ContrastkitError(
            f"{source} has too few items per class ({len(train)} items, {len(y.unique())} "
            "classes) to hold out validation and test items; give it more labelled items"
        )
    num_classes = int(max(y.max(), validation[1].max(), held[1].max())) + 1
    shape = "x".join(str(n) for n in x.shape[1:])
    description = (
        f"{train.name or source}: {len(y):,} training items in {num_classes} classes, "
        f"{len(validation[1]):,} validation ({VALIDATION_SHARE:.0%} of each class), "
        f"{len(held[1]):,} test ({test_from}); items {shape}, read as the run reads its data"
    )
    return Downstream((x, y), validation, held, num_classes, description)


Pair = tuple[Tensor, Tensor]


def _carve(x: Tensor, y: Tensor, share: float) -> tuple[Pair, Pair]:
    """(kept, held out): `share` of each class held out, the same split on every call."""
    keep = torch.zeros(len(y), dtype=torch.bool)
    keep[label_subset(y, 1.0 - share, SPLIT_SEED)] = True
    return (x[keep], y[keep]), (x[~keep], y[~keep])


def finetune(
    run_dir: str | Path,
    dataset: str,
    *,
    shares: Sequence[float] = DEFAULT_SHARES,
    seeds: int = 1,
    steps: int | None = None,
    lrs: Sequence[float] = DEFAULT_LRS,
    batch_size: int = 128,
    output: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    device: str = "auto",
) -> Transfer:
    """Transfer the run's encoder to `dataset` with `shares` of its training labels.

    Args:
        run_dir: a finished run folder of a modality with `has_transfer`.
        dataset: a named dataset, folder or file of that modality, with labels.
        shares: label shares in (0, 1], each drawn per class (at least one item each).
        seeds: repeats with seeds train.seed, train.seed + 1, ...; rows hold the mean and,
            from 2 seeds, the sample std and each value.
        steps: fine-tuning steps of each run (default the run's eval.fine_tune_steps).
        lrs: the fine-tuning learning rates tried (chosen on validation).
        batch_size: fine-tuning batch size (the whole subset when smaller).
        output: the JSON file to write (default RUN_DIR/finetune-<dataset>.json).
        log: receives one progress line per seed and share.
        device: where the encoders embed and fine-tune ("auto", "cpu", "cuda", "cuda:N",
            "mps"); the linear probes fit the features on the CPU.

    Returns:
        the `Transfer`; the JSON holds {"rows", "settings"} as eval.json does.

    Raises:
        ConfigError: a share outside (0, 1], seeds < 1, a modality without transfer, or a
            device that is misspelt or missing on this machine.
        ContrastkitError: not a finished run, or an unlabelled or too small dataset.
    """
    if not shares or any(not 0 < s <= 1 for s in shares):
        raise ConfigError(f"--labels takes shares in (0, 1] such as 0.01,0.1,1; got {list(shares)}")
    if seeds < 1 or batch_size < 1 or not lrs or (steps is not None and steps < 1):
        raise ConfigError("--seeds, --steps and --batch-size must be >= 1 and --lr not empty")
    where = resolve_device(device, key="--device")
    run_dir = Path(run_dir)
    _check_modality(run_dir, dataset)  # before any data is read
    cfg, modality, data, trained = load_run_model(run_dir, where)
    task = read_downstream(modality, cfg, data, dataset)
    prepare = modality.embed_input(cfg, data)
    steps = steps or cfg.eval.fine_tune_steps
    run_name = f"contrastkit {cfg.method.name}"
    frozen = _features(trained, task, prepare)  # the run's encoder is the same for every seed
    raw_name, raw = modality.baselines(cfg, data)[0]  # raw pixels, raw log-mel statistics
    raw_features = [raw(x).float() for x, _ in (task.train, task.validation, task.test)]
    tuning = dict(steps=steps, lrs=list(lrs), checks=CHECKS, batch_size=batch_size, prepare=prepare)
    found: list[dict[str, Any]] = []
    weights = getattr(cfg.model, "weights", None)  # the run started from pre-trained weights
    runs = bar(seeds * len(shares), "finetune", unit="share")  # as `progress_bars` says
    for seed in range(cfg.train.seed, cfg.train.seed + seeds):
        torch.manual_seed(seed)  # seed train.seed: the weights the run itself started from
        scratch = (
            modality.build_encoder(cfg, data, pretrained=False)
            if weights
            else modality.build_encoder(cfg, data)
        ).to(where)
        encoders = [
            (run_name, trained, frozen),
            ("random init", scratch, _features(scratch, task, prepare)),
        ]
        if weights:  # the same weights without the contrastive training
            start_encoder = modality.build_encoder(cfg, data).to(where)
            encoders.append(
                ("pretrained start", start_encoder, _features(start_encoder, task, prepare))
            )
        for share in shares:
            start = time.perf_counter()
            keep = label_subset(task.train[1], share, seed)
            new = []
            for name, encoder, features in encoders:
                new.append(_probe_row(name, features, task, keep, share, seed))
                new.append(_fine_tune_row(name, encoder, task, keep, share, seed, tuning))
            new.append(_probe_row(raw_name, raw_features, task, keep, share, seed))
            found += new
            if log is not None:
                scores = ", ".join(f"{r['system']} {r['value']:.3f}" for r in new)
                log(f"seed {seed}, {share:g} of the labels ({len(keep)}): {scores} "
                    f"[{time.perf_counter() - start:.0f} s]")  # fmt: skip
            runs.update()
    runs.close()
    rows = _mean_rows(found)
    notes = [
        task.description,
        "labels per share: " + ", ".join(f"{s:g} = {_labels(rows, s)}" for s in shares),
        f"pretrained start: the weights of {weights} without contrastive training"
        if weights
        else "no row for pre-trained weights without contrastive training: the run's encoder "
        "started from random weights (model.weights was not set)",
    ]
    settings = _settings(modality, cfg, run_dir, dataset, task, shares, seeds, tuning, notes[2:])
    path = Path(output) if output is not None else run_dir / f"finetune-{_slug(dataset)}.json"
    replaced = path.exists()
    write_json(path, {"rows": rows, "settings": settings})
    result = Transfer(rows, path, notes, replaced)
    path.with_suffix(".txt").write_text(result.table() + "\n" + "\n".join(notes) + "\n")
    return result


def _check_modality(run_dir: Path, dataset: str) -> None:
    """Refuse a run of a modality without transfer, or a named dataset of another one."""
    modality = get_modality(read_run_config(run_dir).data.modality)
    if not modality.has_transfer:
        supported = " and ".join(m.name for m in MODALITIES.values() if m.has_transfer)
        raise ConfigError(
            f"contrastkit finetune takes {supported} runs; {run_dir} is a run on "
            f"{modality.name} data"
        )
    named = canonical_dataset(dataset)
    if named is not None and named[0] != modality.name:
        raise ConfigError(
            f"{dataset} is {named[0]} data; this {modality.name} run fine-tunes on "
            f"{modality.name} data"
        )


def _settings(
    modality: Modality,
    cfg,
    run_dir: Path,
    dataset: str,
    task: Downstream,
    shares: Sequence[float],
    seeds: int,
    tuning: dict[str, Any],
    skipped: list[str],
) -> dict[str, Any]:
    """What the JSON records besides the rows: data, splits, seeds and every choice."""
    fine_tune = {key: tuning[key] for key in ("steps", "lrs", "checks", "batch_size")}
    return {
        "modality": modality.name, "run": str(run_dir.resolve()), "method": cfg.method.name,
        "dataset": dataset, "data": task.description, "label_shares": list(shares),
        "seeds": list(range(cfg.train.seed, cfg.train.seed + seeds)),
        "fine_tune": {**fine_tune, "optimizer": "AdamW, weight decay 1e-4, cosine",
                      "chosen_on": "validation accuracy (learning rate and step)"},
        "linear_probe": {"cs": list(PROBE_CS), "chosen_on": "validation accuracy"},
        "validation_share": VALIDATION_SHARE, "skipped": skipped,
    }  # fmt: skip


def _features(encoder: nn.Module, task: Downstream, prepare) -> list[Tensor]:
    """Frozen (N, D) features of the train, validation and test items."""
    parts = (task.train, task.validation, task.test)
    return [embed_tensors(encoder, x, prepare=prepare) for x, _ in parts]


def _probe_row(
    name: str, features: list[Tensor], task: Downstream, keep: Tensor, share: float, seed: int
) -> dict[str, Any]:
    """A linear probe of frozen `features` (train, validation, test) with the labels at
    `keep`, its C chosen on the validation features."""
    y, val_y, test_y = task.train[1], task.validation[1], task.test[1]
    f_train, f_val, f_test = features
    accuracy, c = probe_on_validation(
        (f_train[keep], y[keep]), (f_val, val_y), (f_test, test_y), task.num_classes, cs=PROBE_CS
    )
    return {"system": f"{name}: linear probe", "metric": _metric(share),
            "value": accuracy, "labels": len(keep), "seed": seed, "chosen": {"C": c}}  # fmt: skip


def _fine_tune_row(
    name: str,
    encoder: nn.Module,
    task: Downstream,
    keep: Tensor,
    share: float,
    seed: int,
    tuning: dict[str, Any],
) -> dict[str, Any]:
    """`encoder` (copied) fine-tuned with the labels at `keep`, learning rate and step
    chosen on the validation items, scored on the test items."""
    x, y = task.train
    pick = fine_tune_on_validation(
        encoder, (x[keep], y[keep]), task.validation, task.num_classes, seed=seed, **tuning
    )
    accuracy = classifier_accuracy(pick.model, *task.test, tuning["prepare"])
    chosen = {"lr": pick.lr, "step": pick.step, "val_accuracy": pick.val_accuracy}
    return {"system": f"{name}: fine-tune", "metric": _metric(share),
            "value": accuracy, "labels": len(keep), "seed": seed, "chosen": chosen}  # fmt: skip


def _mean_rows(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (system, metric): the mean value over seeds, with std and values from
    two seeds on."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in found:
        groups.setdefault((r["system"], r["metric"]), []).append(r)
    rows = []
    for (system, metric), runs in groups.items():
        values = [r["value"] for r in runs]
        row = {"system": system, "metric": metric, "value": statistics.fmean(values),
               "labels": runs[0]["labels"]}  # fmt: skip
        if len(values) > 1:
            row |= {"std": statistics.stdev(values), "values": values}
        rows.append(row | {"chosen": [{"seed": r["seed"], **r["chosen"]} for r in runs]})
    return rows


def _metric(share: float) -> str:
    """The row's metric: "accuracy@0.1 labels", the share as a fraction (as `eval.few_labels`
    rows name theirs)."""
    return f"accuracy@{share:g} labels"


def _labels(rows: list[dict[str, Any]], share: float) -> str:
    metric = _metric(share)
    return f"{next(r['labels'] for r in rows if r['metric'] == metric):,}"


def _slug(dataset: str) -> str:
    """A file-name part for `dataset`: a named dataset's name, else the path's last part."""
    named = canonical_dataset(dataset)
    name = named[1] if named is not None else Path(dataset.rstrip("/")).name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name) or "data"
