"""Tables: named tables (credit, churn, hpc, breast-cancer, wine) and CSV files.

Rows are packed with a schema fitted on the training rows only (standardised numbers,
missing indicators, category codes; `contrastkit.data.tabular_schema`), saved to
RUN_DIR/schema.json. Views are SCARF corruptions; the encoder is an MLP with categorical
embeddings. `data.test_size` of the rows (default 20%, stratified by label) is held out.
Evaluation: kNN and a linear probe against the raw features (numbers + one-hot categories)
and the random-init encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from contrastkit.config import Config
from contrastkit.data.tabular import read_table
from contrastkit.data.tabular_datasets import TABLE_DATASETS, load_table_splits
from contrastkit.data.tabular_schema import TableSchema
from contrastkit.encoders.tabular import TabularMLP
from contrastkit.errors import ContrastkitError
from contrastkit.modalities.base import ItemSet, method_defaults
from contrastkit.modalities.sections import TableDataConfig, TableModelConfig, TableViewsConfig
from contrastkit.modalities.tensor import TensorData, TensorModality
from contrastkit.views.tabular import ScarfViews

SCHEMA_FILE = "schema.json"


@dataclass
class TableData(TensorData):
    schema: Any = None  # the TableSchema fitted on the training rows


class TableModality(TensorModality):
    name = "table"
    summary = "tables: a named table or a .csv file (numeric and categorical columns)"
    views_on_device = False  # SCARF draws replacements from the whole table, kept on the CPU
    datasets = {name: spec.description for name, spec in TABLE_DATASETS.items()}
    data_config, model_config, views_config = TableDataConfig, TableModelConfig, TableViewsConfig
    main_metric = "linear_top1"
    data_free = True

    def detect(self, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in (".csv", ".tsv")

    def recipe_defaults(self, tree: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": {"proj_hidden_dim": 256, "proj_dim": 128},
            "optim": {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 1e-5},
            "train": {"batch_size": 128, "precision": "fp32", "channels_last": False,
                      "monitor_every": 0},
            "eval": {"knn_k": 20},
            "method": method_defaults(tree, temperature=1.0),  # SCARF's
        }  # fmt: skip

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        self.check_test_size(cfg, count=False)

    def prepare(self, cfg: Config, run_dir: Path | None) -> TableData:
        d = cfg.data
        splits = load_table_splits(
            d.dataset, label=d.label, numeric=d.numeric, categorical=d.categorical,
            drop=d.drop, test_fraction=d.test_size or 0.2, seed=cfg.train.seed,
        )  # fmt: skip
        s = splits.schema
        columns = f"{len(s.numeric)} numeric, {len(s.categorical)} categorical columns"
        rows = f"{len(splits.train_x):,} train / {len(splits.test_x):,} test rows"
        return TableData(
            f"{splits.name}: {rows}, {columns}", splits.train_y, [], splits.train_x,
            splits.test_x, splits.test_y, s.classes or None, schema=s,
        )  # fmt: skip

    def write_artifacts(self, cfg: Config, data: TableData, run_dir: Path) -> None:
        data.schema.save(run_dir / SCHEMA_FILE)  # to pack other CSVs the same way

    def preprocessing(self, cfg: Config, data: TableData) -> dict[str, Any]:
        """The schema file: columns, standardisation statistics, category vocabularies and
        label classes, fitted on the training rows."""
        return {"schema": SCHEMA_FILE}

    def without_data(self, cfg: Config, record: dict[str, Any], folder: Path):
        path = Path(folder) / record["schema"]
        if not path.is_file():
            raise ContrastkitError(
                f"{path} does not exist: a table model packs rows with the schema of its "
                "training data; copy it with the run folder"
            )
        s = TableSchema.load(path)
        what = f"{cfg.data.dataset} (not read: loaded from {folder})"
        return cfg, TableData(what, None, classes=s.classes or None, schema=s)

    def build_encoder(self, cfg: Config, data: TableData) -> TabularMLP:
        m = cfg.model
        return TabularMLP.from_schema(
            data.schema, hidden_dim=m.hidden_dim, num_layers=m.num_layers,
            output_dim=m.output_dim, norm=m.norm,
        )  # fmt: skip

    def views(self, cfg: Config, data: TableData, method) -> ScarfViews:
        v = cfg.views
        return ScarfViews(data.train, v.corruption_rate, anchor=v.anchor, n_views=v.n_views)

    def raw_features(self, items: torch.Tensor, cfg: Config, data: TableData) -> torch.Tensor:
        return data.schema.one_hot(items)

    def as_items(self, cfg: Config, data: TableData, inputs: Any, kind: str | None) -> ItemSet:
        """A pandas DataFrame, a list of {column: value} rows or a CSV path (the schema's
        feature columns are read; others, the label among them, are ignored), or an (N, F)
        tensor of rows already packed by the schema (what `items` holds)."""
        import pandas as pd

        if isinstance(inputs, torch.Tensor):
            if inputs.ndim != 2 or inputs.shape[1] != data.schema.num_features:
                raise ContrastkitError(
                    f"packed rows must be (N, {data.schema.num_features}), got "
                    f"{tuple(inputs.shape)}; or pass a DataFrame, dict rows or a CSV path"
                )
            return ItemSet(inputs.float(), [f"row/{i}" for i in range(len(inputs))])
        if isinstance(inputs, str | Path):
            return self.read_source(cfg, data, str(inputs), "train")
        frame = inputs if isinstance(inputs, pd.DataFrame) else pd.DataFrame(list(inputs))
        s = data.schema
        missing = [c for c in (*s.numeric, *s.categorical) if c not in frame.columns]
        if missing:
            raise ContrastkitError(f"the rows lack the model's columns {missing}")
        table = read_table(frame[[*s.numeric, *s.categorical]], numeric=s.numeric,
                           categorical=s.categorical)  # fmt: skip
        x = s.transform(table)
        return ItemSet(x, [f"row/{i}" for i in range(len(x))])

    def read_source(self, cfg: Config, data: TableData, source: str, split: str) -> ItemSet:
        d = cfg.data
        table = read_table(source, label=d.label, numeric=data.schema.numeric,
                           categorical=data.schema.categorical, drop=d.drop)  # fmt: skip
        labels = data.schema.encode_labels(table).numpy() if table.labels is not None else None
        x = data.schema.transform(table)
        return ItemSet(x, [f"row/{i}" for i in range(len(x))], labels, data.classes,
                       name=Path(source).stem)  # fmt: skip
