"""`contrastkit evaluate`: score a trained encoder against raw-input and random-init baselines."""

from __future__ import annotations

from pathlib import Path

import torch

from contrastkit.config import Config
from contrastkit.data.dataset import ImageDataset
from contrastkit.errors import ContrastkitError
from contrastkit.evaluate.features import extract_features, raw_features
from contrastkit.evaluate.report import EvalRow, evaluate_features, format_table, rows_to_records
from contrastkit.pipeline.build import build_encoder, build_views, load_splits
from contrastkit.pipeline.runs import load_trained_encoder, read_config, write_json
from contrastkit.train.precision import autocast_dtype


def embed_images(
    encoder: torch.nn.Module, images: torch.Tensor, cfg: Config, batch_size: int | None = None
) -> torch.Tensor:
    """(N, C, H, W) uint8 -> (N, D) float32 features with the run's eval preprocessing."""
    preprocess = build_views(cfg).preprocess
    amp = autocast_dtype(cfg.train.precision, torch.device("cpu"))
    encoder.eval()

    def fn(x: torch.Tensor) -> torch.Tensor:
        return encoder(preprocess(x))

    return extract_features(
        fn, images, batch_size=batch_size or cfg.eval.batch_size, autocast_dtype=amp
    )


def evaluation_data(cfg: Config) -> tuple[ImageDataset, ImageDataset]:
    """The labelled (train, test) pair for evaluation: the full training split as kNN bank
    and probe training set (monitor hold-out included), and the test split."""
    data_cfg = cfg.data.model_copy(update={"holdout": 0})
    splits = load_splits(data_cfg, cfg.train.seed)
    if splits.train.labels is None or splits.test is None:
        raise ContrastkitError(
            f"dataset {cfg.data.dataset!r} has no labels, so there is nothing to evaluate "
            "against; use one subfolder per class to give labels"
        )
    return splits.train, splits.test


def evaluate(run_dir: str | Path, *, baselines: bool = True, linear: bool = True) -> list[EvalRow]:
    """kNN and linear-probe scores of the run's encoder on the test split, with baselines.

    Writes eval.json (records: system, metric, value) and eval.txt (the table) into the run.
    """
    run_dir = Path(run_dir)
    cfg = read_config(run_dir)
    train, test = evaluation_data(cfg)
    k, t = cfg.eval.knn_k, cfg.eval.knn_temperature
    rows = []

    def score(name: str, f_train: torch.Tensor, f_test: torch.Tensor) -> None:
        rows.append(
            evaluate_features(
                name,
                f_train,
                train.labels,
                f_test,
                test.labels,
                k=k,
                temperature=t,
                linear=linear,
            )
        )

    encoder = load_trained_encoder(run_dir, cfg, train.channels)
    score(
        f"contrastkit {cfg.method.name}",
        embed_images(encoder, train.images, cfg),
        embed_images(encoder, test.images, cfg),
    )
    if baselines:
        score("raw pixels", raw_features(train.images), raw_features(test.images))
        torch.manual_seed(cfg.train.seed)
        random_encoder = build_encoder(cfg, train.channels)
        score(
            "random-init encoder",
            embed_images(random_encoder, train.images, cfg),
            embed_images(random_encoder, test.images, cfg),
        )
    write_json(run_dir / "eval.json", {"rows": rows_to_records(rows)})
    (run_dir / "eval.txt").write_text(format_table(rows) + "\n")
    return rows
