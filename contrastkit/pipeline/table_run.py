"""Train a table encoder with SCARF views, evaluate it against baselines, save the run.

Used by `contrastkit train-table` and `benchmarks/modality_table.py`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from contrastkit.data.tabular_datasets import TableSplits
from contrastkit.data.tabular_schema import TableSchema
from contrastkit.encoders.tabular import TabularEncoderConfig, TabularMLP
from contrastkit.errors import ConfigError, DataFormatError
from contrastkit.evaluate.geometry import effective_rank, normalized_std
from contrastkit.evaluate.linear import linear_probe
from contrastkit.evaluate.semi_supervised import embed_tensors, semi_supervised_eval
from contrastkit.methods.base import Method
from contrastkit.methods.params import method_params
from contrastkit.methods.registry import METHODS
from contrastkit.train.checkpoint import load_weights, save_weights
from contrastkit.train.fit_result import FitResult
from contrastkit.train.tensor_batches import TensorBatches
from contrastkit.train.trainer import Trainer
from contrastkit.views.tabular import ScarfViews

__all__ = [
    "TableTrainConfig",
    "build_table_method",
    "evaluate_table_encoder",
    "load_table_run",
    "save_table_run",
    "train_table_encoder",
]


@dataclass
class TableTrainConfig:
    """Knobs of a table run (defaults: SCARF's encoder and corruption rate).

    Attributes:
        method: a tensor-view method name from `contrastkit.methods.METHODS`.
        steps, max_time: budgets (the first reached stops training; max_time in seconds).
        batch_size, lr, weight_decay: AdamW settings.
        temperature: for methods that take one; None keeps the method's default.
        corruption_rate, anchor: SCARF view settings (see `ScarfViews`).
        hidden_dim, num_layers, output_dim, norm: the `TabularMLP`.
        proj_hidden_dim, proj_dim: the method's heads.
        seed: weights, data order and views.
    """

    method: str = "simclr"
    steps: int = 1000
    max_time: float | None = None
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-5
    temperature: float | None = 1.0
    corruption_rate: float = 0.6
    anchor: bool = True
    hidden_dim: int = 256
    num_layers: int = 4
    output_dim: int = 256
    norm: str = "batchnorm"
    proj_hidden_dim: int = 256
    proj_dim: int = 128
    seed: int = 0


def build_table_method(name: str, encoder: TabularMLP, cfg: TableTrainConfig) -> Method:
    """Method `name` around `encoder`, with the config's temperature where it applies.

    Raises:
        ConfigError: unknown method, or one whose views are not tensors (text methods).
    """
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    cls = METHODS[name]
    if cls.modality != "image":  # "image" marks methods on tensor views
        raise ConfigError(f"method {name!r} does not train on tensor views")
    kwargs: dict[str, Any] = {}
    if cfg.temperature is not None and "temperature" in method_params(name):
        kwargs["temperature"] = cfg.temperature
    return cls(encoder, proj_hidden_dim=cfg.proj_hidden_dim, proj_dim=cfg.proj_dim, **kwargs)


def _new_encoder(schema: TableSchema, cfg: TableTrainConfig, seed: int) -> TabularMLP:
    torch.manual_seed(seed)
    return TabularMLP.from_schema(
        schema,
        hidden_dim=cfg.hidden_dim,
        num_layers=cfg.num_layers,
        output_dim=cfg.output_dim,
        norm=cfg.norm,
    )


def train_table_encoder(
    splits: TableSplits, cfg: TableTrainConfig, *, progress: bool = False
) -> tuple[TabularMLP, TabularMLP, FitResult]:
    """Pre-train an encoder on the training rows (labels unused unless the method is
    supervised).

    Returns:
        (trained encoder, a copy of its random initialisation, the fit result).
    """
    method_cls = METHODS.get(cfg.method)
    if method_cls is not None and method_cls.needs_labels and splits.train_y is None:
        raise DataFormatError(f"method {cfg.method!r} needs labels; give the label column")
    encoder = _new_encoder(splits.schema, cfg, cfg.seed)
    initial = copy.deepcopy(encoder)
    method = build_table_method(cfg.method, encoder, cfg)
    batch_size = min(cfg.batch_size, len(splits.train_x))
    source = TensorBatches(
        splits.train_x,
        ScarfViews(splits.train_x, cfg.corruption_rate, anchor=cfg.anchor),
        splits.train_y,
    )
    trainer = Trainer(
        method,
        optimizer="adamw",
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        batch_size=batch_size,
        steps=cfg.steps,
        max_time=cfg.max_time,
        precision="fp32",
        seed=cfg.seed,
        progress=progress,
        log_every=10,
    )
    result = trainer.fit(source)
    return method.encoder, initial, result  # type: ignore[return-value]


def _probe(train: torch.Tensor, test: torch.Tensor, splits: TableSplits) -> float:
    assert splits.train_y is not None and splits.test_y is not None
    return linear_probe(
        train, splits.train_y, test, splits.test_y, num_classes=splits.schema.num_classes
    ).accuracy


def evaluate_table_encoder(
    encoder: TabularMLP,
    initial: TabularMLP,
    splits: TableSplits,
    *,
    fractions: Sequence[float] = (0.01, 0.1),
    fine_tune_steps: int = 300,
    seed: int = 0,
) -> dict[str, Any]:
    """Linear probes on the raw features (standardised numbers + one-hot categories), the
    random-init encoder and the trained encoder; collapse measures on the test rows; and
    `semi_supervised_eval` with `fractions` of the labels (fine-tuned vs scratch).

    Returns:
        {"linear_probe": {system: accuracy}, "geometry": {...}, "semi_supervised": rows};
        only "geometry" without labels.
    """
    test_z = embed_tensors(encoder, splits.test_x)
    out: dict[str, Any] = {
        "geometry": {"effective_rank": effective_rank(test_z), "std": normalized_std(test_z)}
    }
    if splits.train_y is None or splits.test_y is None:
        return out
    schema = splits.schema
    out["linear_probe"] = {
        "raw features": _probe(
            schema.one_hot(splits.train_x), schema.one_hot(splits.test_x), splits
        ),
        "random-init encoder": _probe(
            embed_tensors(initial, splits.train_x), embed_tensors(initial, splits.test_x), splits
        ),
        "contrastive encoder": _probe(embed_tensors(encoder, splits.train_x), test_z, splits),
    }
    config = encoder.config

    def scratch() -> TabularMLP:
        torch.manual_seed(seed + 1)
        return TabularMLP.from_config(config)

    out["semi_supervised"] = semi_supervised_eval(
        encoder,
        scratch,
        (splits.train_x, splits.train_y),
        (splits.test_x, splits.test_y),
        fractions=fractions,
        steps=fine_tune_steps,
        seed=seed,
    )
    return out


def save_table_run(
    folder: str | Path,
    encoder: TabularMLP,
    schema: TableSchema,
    cfg: TableTrainConfig,
    summary: dict[str, Any],
) -> Path:
    """Write encoder.safetensors, encoder.json (architecture), schema.json, config.json and
    summary.json into `folder`; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(encoder, folder / "encoder.safetensors")
    (folder / "encoder.json").write_text(json.dumps(encoder.config.to_dict(), indent=1) + "\n")
    schema.save(folder / "schema.json")
    (folder / "config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
    (folder / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return folder


def load_table_run(folder: str | Path) -> tuple[TabularMLP, TableSchema]:
    """The trained encoder (eval mode) and schema of a folder from `save_table_run`."""
    folder = Path(folder)
    config = TabularEncoderConfig(**json.loads((folder / "encoder.json").read_text()))
    encoder = load_weights(TabularMLP.from_config(config), folder / "encoder.safetensors")
    return encoder.eval(), TableSchema.load(folder / "schema.json")
