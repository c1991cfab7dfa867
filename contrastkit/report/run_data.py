"""What a report reads from a run folder: its modality, config, logged metrics and results.

Every run folder (`contrastkit train`, any modality) holds config.yaml, metrics.csv,
summary.json, the final weights and, once evaluated, eval.json. Everything but the folder
and its config is optional here: a report of a half-finished run shows what there is.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contrastkit.errors import ContrastkitError

Series = tuple[list[float], list[float]]
"""(steps, values) of one metrics.csv column, rows where the column is empty left out."""


@dataclass
class RunData:
    """The files of one run folder, parsed.

    Attributes:
        path: the run folder.
        kind: the run's modality (`data.modality` of its config).
        config: the resolved config.
        metrics: metrics.csv columns by name, each as (steps, values).
        summary: summary.json, or an empty dict.
        eval_records: eval.json records (system, metric, value), or None when absent.
    """

    path: Path
    kind: str
    config: Any = None
    metrics: dict[str, Series] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    eval_records: list[dict[str, Any]] | None = None

    @property
    def name(self) -> str:
        """The run folder's name, for titles."""
        return self.path.resolve().name

    @property
    def method(self) -> str:
        """The training method's name."""
        return str(self.config.method.name)

    @property
    def dataset(self) -> str:
        """The dataset name, folder or file the run trained on."""
        return str(self.config.data.dataset)

    def series(self, column: str) -> Series | None:
        """The (steps, values) of `column`, or None when the column has no value."""
        found = self.metrics.get(column)
        return found if found and found[0] else None

    def reload_eval(self) -> None:
        """Read eval.json again (after an evaluation wrote it)."""
        self.eval_records = read_eval_records(self.path)


def read_metrics(path: Path) -> dict[str, Series]:
    """metrics.csv -> {column: (steps, values)}, skipping empty and non-numeric cells.

    Args:
        path: a metrics.csv written by `CsvLog` (a header, then one row per log event).

    Returns:
        One entry per column except step; rows without a step are ignored. Missing file:
        an empty dict.
    """
    if not path.is_file():
        return {}
    out: dict[str, Series] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            step = _number(row.get("step"))
            if step is None:
                continue
            for column, cell in row.items():
                if column is None or column == "step":
                    continue
                value = _number(cell)
                if value is None:
                    continue
                steps, values = out.setdefault(column, ([], []))
                steps.append(step)
                values.append(value)
    return out


def _number(cell: str | None) -> float | None:
    """A finite float from a CSV cell, else None."""
    if cell is None or cell == "":
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_eval_records(run_dir: Path) -> list[dict[str, Any]] | None:
    """The records of run_dir/eval.json, or None when the run was not evaluated."""
    path = run_dir / "eval.json"
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ContrastkitError(
            f"{path} is not valid JSON ({exc}); delete it and run `contrastkit evaluate`"
        ) from None
    return list(payload.get("rows", [])) if isinstance(payload, dict) else None


def load_run(run_dir: str | Path) -> RunData:
    """Parse a run folder.

    Args:
        run_dir: a folder written by `contrastkit train`.

    Returns:
        The parsed `RunData`.

    Raises:
        ContrastkitError: the folder does not exist or is not a run folder.
    """
    from contrastkit.pipeline.settings import read_run_config

    path = Path(run_dir)
    if not path.is_dir():
        raise ContrastkitError(f"run folder {path} does not exist")
    summary_path = path / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    config = read_run_config(path)
    return RunData(
        path=path,
        kind=config.data.modality,
        config=config,
        metrics=read_metrics(path / "metrics.csv"),
        summary=summary,
        eval_records=read_eval_records(path),
    )
