"""Where a run's metrics go: metrics.csv always, TensorBoard by default, W&B and MLflow on
request, all behind one small interface (`MetricLogger`).

`train.loggers` names them (`[csv, tensorboard]` by default; `--logger wandb` adds one).
Only rank 0 opens loggers. A resumed run continues the same files: metrics.csv drops the
rows after the checkpoint, TensorBoard purges the events after it (`purge_step`), W&B and
MLflow continue the same run id (recorded in the run folder).

Where each writes, inside the run folder:
    metrics.csv; tensorboard/ (events, and the embedding projector after evaluation);
    wandb/ (offline unless WANDB_MODE or WANDB_API_KEY says otherwise); mlflow.db and
    mlartifacts/ (unless MLFLOW_TRACKING_URI is set).
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from contrastkit.errors import ConfigError
from contrastkit.train.metrics_log import CsvLog

__all__ = [
    "DEFAULT_LOGGERS",
    "LOGGERS",
    "TENSORBOARD_DIR",
    "Loggers",
    "MetricLogger",
    "check_loggers",
    "open_loggers",
]

LOGGERS = ("csv", "tensorboard", "wandb", "mlflow")
DEFAULT_LOGGERS = ("csv", "tensorboard")
TENSORBOARD_DIR = "tensorboard"
_INSTALL = {  # logger -> (module it needs, how to install it)
    "tensorboard": ("tensorboard", "pip install tensorboard"),
    "wandb": ("wandb", "pip install 'contrastkit[wandb]'"),
    "mlflow": ("mlflow", "pip install 'contrastkit[mlflow]'"),
}


class MetricLogger(Protocol):
    """One destination of a run's metrics."""

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """Record one row (a metrics.csv row: loss, lr, items_per_s, knn_top1, ...) at `step`."""

    def log_embeddings(
        self, vectors: np.ndarray, *, step: int, metadata: list[Any], header: list[str] | None,
        images: Any | None = None, tag: str = "test",
    ) -> None:  # fmt: skip
        """Record (N, D) embeddings with one metadata row per item (a list of columns named
        by `header`, or one value when `header` is None) and optional (N, C, H, W) float
        thumbnails in [0, 1]."""

    def close(self) -> None:
        """Flush and release files."""


def check_loggers(names: Sequence[str], where: str = "config key 'train.loggers'") -> list[str]:
    """The loggers to open: csv first (always on), then `names` without repeats.

    Raises:
        ConfigError: an unknown name, or one whose package is not installed.
    """
    out = ["csv"]
    for name in names:
        if name not in LOGGERS:
            raise ConfigError(f"{where}: unknown logger {name!r}; choose from {', '.join(LOGGERS)}")
        if name in _INSTALL and importlib.util.find_spec(_INSTALL[name][0]) is None:
            raise ConfigError(
                f"{where}: the {name} logger needs the {_INSTALL[name][0]} package; "
                f"install it with `{_INSTALL[name][1]}` or leave {name} out"
            )
        if name not in out:
            out.append(name)
    return out


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """The finite-or-not numeric values of a row, without the step."""
    return {
        k: float(v)
        for k, v in metrics.items()
        if k != "step" and isinstance(v, int | float) and not isinstance(v, bool)
    }


class CsvLogger:
    """metrics.csv (`CsvLog`, format unchanged); rows after `start_step` are dropped."""

    def __init__(self, run_dir: Path, start_step: int = 0) -> None:
        self.csv = CsvLog(run_dir / "metrics.csv")
        self.csv.truncate_after(start_step)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        self.csv.append({**metrics, "step": step})

    def log_embeddings(self, vectors: np.ndarray, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


class TensorBoardLogger:
    """Event files in RUN/tensorboard: one scalar per metrics.csv column (same names), and
    the embedding projector. A resumed run purges the events after `start_step`."""

    def __init__(self, run_dir: Path, start_step: int = 0) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(
            str(run_dir / TENSORBOARD_DIR),
            purge_step=start_step + 1 if start_step > 0 else None,
            flush_secs=30,
        )

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        for key, value in _scalars(metrics).items():
            self.writer.add_scalar(key, value, step)

    def log_embeddings(
        self, vectors: np.ndarray, *, step: int, metadata: list[Any], header: list[str] | None,
        images: Any | None = None, tag: str = "test",
    ) -> None:  # fmt: skip
        folder = Path(self.writer.get_logdir()) / f"{step:05d}" / tag
        shutil.rmtree(folder, ignore_errors=True)  # evaluating again replaces it
        self.writer.add_embedding(
            vectors, metadata=metadata, metadata_header=header, label_img=images,
            global_step=step, tag=tag,
        )  # fmt: skip

    def close(self) -> None:
        self.writer.close()


def _run_id(path: Path, new: Any) -> str:
    """The id recorded at `path`, or `new()` recorded there (so a resumed run continues)."""
    if path.is_file():
        return path.read_text().strip()
    value = str(new())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    return value


class WandbLogger:
    """A W&B run in RUN/wandb: offline unless WANDB_MODE is set or WANDB_API_KEY is given
    (sync an offline run later with `wandb sync RUN/wandb/offline-run-*`)."""

    def __init__(self, run_dir: Path, config: dict[str, Any] | None = None) -> None:
        import wandb

        mode = os.environ.get("WANDB_MODE") or (
            "online" if os.environ.get("WANDB_API_KEY") else "offline"
        )
        run_id = _run_id(run_dir / "wandb" / "contrastkit-run-id", lambda: uuid.uuid4().hex[:8])
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "contrastkit"), name=run_dir.name,
            id=run_id, resume="allow", dir=str(run_dir), mode=mode, config=config or {},
        )  # fmt: skip

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        self.run.log(_scalars(metrics), step=step)

    def log_embeddings(self, vectors: np.ndarray, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        self.run.finish()


class MlflowLogger:
    """An MLflow run in experiment "contrastkit" (or MLFLOW_EXPERIMENT_NAME), tracked at
    MLFLOW_TRACKING_URI or else in RUN/mlflow.db (`mlflow ui --backend-store-uri
    sqlite:///RUN/mlflow.db`); the config as flattened params."""

    def __init__(self, run_dir: Path, config: dict[str, Any] | None = None) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{run_dir.resolve()}/mlflow.db"
        self.client = MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "contrastkit")
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else self.client.create_experiment(
                name, artifact_location=(run_dir.resolve() / "mlartifacts").as_uri()
            )
        )
        id_file = run_dir / "mlflow-run-id"
        resumed = id_file.is_file()
        self.run_id = _run_id(
            id_file,
            lambda: self.client.create_run(experiment_id, run_name=run_dir.name).info.run_id,
        )
        if resumed:
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            params = [Param(k, str(v)[:500]) for k, v in _flatten(config or {}).items()]
            for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
                self.client.log_batch(self.run_id, params=params[i : i + 100])

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        rows = [Metric(k, v, now, step) for k, v in _scalars(metrics).items() if math.isfinite(v)]
        self.client.log_batch(self.run_id, metrics=rows)

    def log_embeddings(self, vectors: np.ndarray, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class Loggers:
    """Every open logger behind the `MetricLogger` interface (each call goes to all)."""

    def __init__(self, loggers: Sequence[MetricLogger]) -> None:
        self.loggers = list(loggers)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        for logger in self.loggers:
            logger.log(step, metrics)

    def log_embeddings(self, vectors: np.ndarray, **kwargs: Any) -> None:
        for logger in self.loggers:
            logger.log_embeddings(vectors, **kwargs)

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()


def open_loggers(
    run_dir: Path, names: Sequence[str], *, start_step: int = 0, config: dict | None = None
) -> Loggers:
    """Open the loggers `names` (csv always included) on `run_dir`, continuing after
    `start_step` (0: a new run).

    Raises:
        ConfigError: an unknown logger or a missing package (see `check_loggers`).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    opened: list[MetricLogger] = []
    for name in check_loggers(names):
        if name == "csv":
            opened.append(CsvLogger(run_dir, start_step))
        elif name == "tensorboard":
            opened.append(TensorBoardLogger(run_dir, start_step))
        elif name == "wandb":
            opened.append(WandbLogger(run_dir, config))
        else:
            opened.append(MlflowLogger(run_dir, config))
    return Loggers(opened)
