"""Where a run's metrics go: metrics.csv always, TensorBoard by default, W&B and MLflow on
request, all behind one small interface (`MetricLogger`).

`train.loggers` names them (`[csv, tensorboard]` by default; `--logger wandb` adds one).
Only rank 0 opens loggers; they are flushed before each checkpoint. A resumed run
continues the same files: metrics.csv drops the rows after the checkpoint, TensorBoard
purges the events after it (`purge_step`); W&B and MLflow continue the same run id
(recorded in the run folder) and, as they cannot delete logged values, skip the steps the
earlier process already logged, so no step appears twice. A new run (start step 0) starts
new W&B and MLflow runs.

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

from contrastkit.errors import ConfigError, ContrastkitError
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

    def flush(self) -> None:
        """Write what was logged to disk (before a checkpoint: a resume will not log it again)."""

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


def _new_values(
    metrics: dict[str, float], step: int, logged: dict[str, int], floor: int = 0
) -> dict[str, float]:
    """The values of a row at `step` that an earlier process of the run has not logged
    (`logged`: key -> its last step logged; `floor`: the last step logged for every key)."""
    return {k: v for k, v in metrics.items() if step > max(logged.get(k, 0), floor)}


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

    def flush(self) -> None:
        pass  # each row is appended and closed

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

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def _run_id(path: Path, new: Any, *, reuse: bool) -> str:
    """The id recorded at `path` if `reuse` (a resumed run continues it), else `new()`
    recorded there."""
    if reuse and path.is_file():
        return path.read_text().strip()
    value = str(new())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    return value


class WandbLogger:
    """A W&B run in RUN/wandb: offline unless WANDB_MODE is set or WANDB_API_KEY is given
    (sync an offline run later with `wandb sync RUN/wandb/offline-run-*`).

    A resumed run (`start_step` > 0) reuses the id in RUN/wandb/contrastkit-run-id
    (`resume="allow"`; offline, each process writes its own offline-run-*-ID folder) and
    skips the steps up to the last one logged, recorded in RUN/wandb/contrastkit-last-step
    (online, also up to the run's `starting_step`), so the folders hold disjoint steps.
    """

    def __init__(
        self, run_dir: Path, config: dict[str, Any] | None = None, start_step: int = 0
    ) -> None:
        import wandb

        mode = os.environ.get("WANDB_MODE") or (
            "online" if os.environ.get("WANDB_API_KEY") else "offline"
        )
        resumed = start_step > 0
        folder = run_dir / "wandb"
        run_id = _run_id(folder / "contrastkit-run-id", lambda: uuid.uuid4().hex[:8], reuse=resumed)
        self.last_step_file = folder / "contrastkit-last-step"
        recorded = ""
        if resumed and self.last_step_file.is_file():
            recorded = self.last_step_file.read_text().strip()
        elif not resumed:
            self.last_step_file.unlink(missing_ok=True)  # a new run starts at step 0
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "contrastkit"), name=run_dir.name,
            id=run_id, resume="allow" if resumed else None, dir=str(run_dir), mode=mode,
            config=config or {},
        )  # fmt: skip
        online_next = int(getattr(self.run, "starting_step", 0) or 0) if resumed else 0
        self.logged_until = max(int(recorded) if recorded.isdigit() else 0, online_next - 1)

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        values = _new_values(_scalars(metrics), step, {}, self.logged_until)
        if not values:
            return
        self.run.log(values, step=step)
        tmp = self.last_step_file.with_suffix(".tmp")
        tmp.write_text(f"{step}\n")
        os.replace(tmp, self.last_step_file)  # atomic: a crash leaves the old or the new step

    def log_embeddings(self, vectors: np.ndarray, **kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        pass  # records go to the W&B service process as they are logged

    def close(self) -> None:
        self.run.finish()


class MlflowLogger:
    """An MLflow run in experiment "contrastkit" (or MLFLOW_EXPERIMENT_NAME), tracked at
    MLFLOW_TRACKING_URI or else in RUN/mlflow.db (`mlflow ui --backend-store-uri
    sqlite:///RUN/mlflow.db`); the config as flattened params.

    A resumed run (`start_step` > 0) continues the run in RUN/mlflow-run-id and, per metric,
    skips the steps its history already holds (MLflow keeps every value logged).
    """

    def __init__(
        self, run_dir: Path, config: dict[str, Any] | None = None, start_step: int = 0
    ) -> None:
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
        resumed = start_step > 0 and id_file.is_file()
        self.run_id = _run_id(
            id_file,
            lambda: self.client.create_run(experiment_id, run_name=run_dir.name).info.run_id,
            reuse=resumed,
        )
        self.logged: dict[str, int] = {}
        if resumed:
            self.logged = self._last_steps(id_file, uri)
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            params = [Param(k, str(v)[:500]) for k, v in _flatten(config or {}).items()]
            for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
                self.client.log_batch(self.run_id, params=params[i : i + 100])

    def _last_steps(self, id_file: Path, uri: str) -> dict[str, int]:
        """Per metric of the recorded run, the last step its history holds.

        Raises:
            ContrastkitError: the recorded run is not in the tracking store at `uri`.
        """
        from mlflow.exceptions import MlflowException

        try:
            keys = list(self.client.get_run(self.run_id).data.metrics)
        except MlflowException:
            raise ContrastkitError(
                f"{id_file}: MLflow run {self.run_id} is not in the tracking store {uri}; "
                "set MLFLOW_TRACKING_URI to the store the run was tracked in"
            ) from None
        return {
            key: max((m.step for m in self.client.get_metric_history(self.run_id, key)), default=0)
            for key in keys
        }

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        values = _new_values(_scalars(metrics), step, self.logged)
        rows = [Metric(k, v, now, step) for k, v in values.items() if math.isfinite(v)]
        if rows:
            self.client.log_batch(self.run_id, metrics=rows)

    def log_embeddings(self, vectors: np.ndarray, **kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        pass  # log_batch returns once the store holds the values

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

    def flush(self) -> None:
        for logger in self.loggers:
            logger.flush()

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
            opened.append(WandbLogger(run_dir, config, start_step))
        else:
            opened.append(MlflowLogger(run_dir, config, start_step))
    return Loggers(opened)
