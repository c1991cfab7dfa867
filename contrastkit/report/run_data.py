"""What a report reads from a run folder: its kind, config, logged metrics and results.

Two layouts are known. An image run (`contrastkit train`) holds config.yaml,
metrics.csv, summary.json, encoder.safetensors and, once evaluated, eval.json. A text run
(`contrastkit train-text`) holds settings.json, metrics.csv, summary.json and model/ (a
sentence-transformers folder). Everything but the folder itself is optional here: a
report of a half-finished run shows what there is.
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
        kind: "image" (contrastkit train) or "text" (contrastkit train-text).
        config: the resolved image-run config, or None for text runs.
        settings: the text-run settings (settings.json), or None for image runs.
        metrics: metrics.csv columns by name, each as (steps, values).
        summary: summary.json, or an empty dict.
        eval_records: eval.json records (system, metric, value), or None when absent.
    """

    path: Path
    kind: str
    config: Any = None
    settings: dict[str, Any] | None = None
    metrics: dict[str, Series] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    eval_records: list[dict[str, Any]] | None = None

    @property
    def name(self) -> str:
        """The run folder's name, for titles."""
        return self.path.resolve().name

    @property
    def method(self) -> str:
        """The training method's name, or "?" when the folder does not say."""
        if self.config is not None:
            return str(self.config.method.name)
        return str((self.settings or {}).get("method", "?"))

    @property
    def dataset(self) -> str:
        """The dataset name, image folder or text file the run trained on."""
        if self.config is not None:
            return str(self.config.data.dataset)
        return str((self.settings or {}).get("data", "?"))

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
    """Parse a run folder of either kind.

    Args:
        run_dir: a folder written by `contrastkit train` or `contrastkit train-text`.

    Returns:
        The parsed `RunData`.

    Raises:
        ContrastkitError: the folder does not exist or is neither kind of run folder.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ContrastkitError(f"run folder {path} does not exist")
    summary_path = path / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    metrics = read_metrics(path / "metrics.csv")
    if (path / "config.yaml").is_file():
        from contrastkit.pipeline.runs import read_config

        return RunData(
            path=path,
            kind="image",
            config=read_config(path),
            metrics=metrics,
            summary=summary,
            eval_records=read_eval_records(path),
        )
    if (path / "settings.json").is_file():
        settings = json.loads((path / "settings.json").read_text())
        return RunData(path=path, kind="text", settings=settings, metrics=metrics, summary=summary)
    raise ContrastkitError(
        f"{path} is not a contrastkit run folder (no config.yaml or settings.json); pass "
        "the folder that `contrastkit train` or `contrastkit train-text` printed"
    )
