"""The run configuration's common part: sections every modality shares, YAML recipes and
command-line overrides.

A config has seven sections. `method`, `optim`, `train` and `eval` mean the same for every
modality; `data`, `model` and `views` start from the bases here and each modality adapter
(`contrastkit.modalities`) adds its own keys. Assembling and validating a whole config
for a modality happens in `contrastkit.pipeline.settings`, above the adapters.

Every section rejects unknown keys; every value is type- and range-checked; errors name
the key, the value given and what is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contrastkit.errors import ConfigError

__all__ = [
    "BUDGET_KEYS",
    "Config",
    "DataConfig",
    "EvalConfig",
    "MethodConfig",
    "ModelConfig",
    "OptimConfig",
    "Section",
    "TrainConfig",
    "ViewsConfig",
    "dump_config",
    "merge_trees",
    "parse_duration",
    "parse_override",
    "read_recipe",
    "set_dotted",
    "validation_messages",
]

BUDGET_KEYS = ("train.epochs", "train.steps", "train.max_time")  # the first reached ends a run


class Section(BaseModel):
    """A config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(Section):
    """What to train on. Modalities add their own keys (image size, columns, ...)."""

    dataset: str = Field(..., description="a named dataset or a path (see `contrastkit datasets`)")
    modality: str | None = Field(
        None, description="image, text, audio, graph, table, image-text, interactions; "
        "None: from the dataset name or the path"
    )  # fmt: skip
    test_size: float | None = Field(
        None, gt=0, description="data without a test split: the share (< 1) or number (>= 1) "
        "of items held out for evaluation; None: the modality's default"
    )  # fmt: skip


class ModelConfig(Section):
    """The encoder. Modalities add the backbone's keys; the heads' sizes are shared."""

    proj_hidden_dim: int = Field(2048, ge=1, description="hidden width of projection heads")
    proj_dim: int = Field(128, ge=0, description="projection output size; 0: no projection head")
    sync_batchnorm: bool = Field(
        False, description="BatchNorm statistics over all processes' batches (--nproc > 1)"
    )


class ViewsConfig(Section):
    """How views are made. Modalities add their augmentation strengths."""

    n_views: int = Field(2, ge=1, le=16, description="views per item")


class MethodConfig(BaseModel):
    """`name` picks the method; every other key is one of its arguments (see
    `contrastkit methods --keys`), checked against the method when the config is built."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    name: str = "simclr"

    @property
    def params(self) -> dict[str, Any]:
        """The method's arguments (the section without `name`)."""
        return dict(self.model_extra or {})


class OptimConfig(Section):
    optimizer: Literal["sgd", "lars", "adamw"] = "sgd"
    lr: float = Field(0.3, gt=0, le=100)
    weight_decay: float = Field(1e-4, ge=0, le=1)
    momentum: float = Field(0.9, ge=0, lt=1)
    warmup: float = Field(0.05, ge=0, lt=1, description="fraction of the budget")
    final_lr_ratio: float = Field(0.0, ge=0, le=1)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$")


def parse_duration(value: Any) -> float | None:
    """'90s', '10m', '1.5h' or a number of seconds -> seconds."""
    if value is None or isinstance(value, int | float):
        return None if value is None else float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"must be a duration like 90s, 10m or 1h, got {value!r}")
    scale = {"s": 1, "sec": 1, None: 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]
    return float(m.group(1)) * scale


class TrainConfig(Section):
    batch_size: int = Field(256, ge=2, le=65536)
    epochs: float | None = Field(None, gt=0)
    steps: int | None = Field(None, ge=1)
    max_time: float | None = Field(None, gt=0, description="seconds, or 90s / 10m / 1h")
    device: str = Field(
        "auto", description="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps"
    )
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    channels_last: bool = True
    compile: bool = Field(False, description="torch.compile the networks (first steps slower)")
    seed: int = 0
    threads: int | None = Field(None, ge=1, le=512)
    grad_cache_chunk: int | None = Field(
        None, ge=1, description="gradient caching: encode each batch in chunks of this size"
    )
    checkpoint_every: int = Field(500, ge=1, description="steps between checkpoints")
    keep_checkpoints: int = Field(2, ge=1)
    monitor_every: int = Field(1, ge=0, description="epochs between kNN monitors; 0: off")
    log_every: int = Field(10, ge=1)
    max_bad_steps: int = Field(
        3, ge=1, le=1000, description="non-finite steps in a row (each skipped) before stopping"
    )
    run_dir: str | None = None
    loggers: list[str] = Field(
        default_factory=lambda: ["csv", "tensorboard"],
        description="where metrics go: csv (always on), tensorboard, wandb, mlflow",
    )

    @field_validator("max_time", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float | None:
        return parse_duration(v)

    @field_validator("loggers", mode="before")
    @classmethod
    def _loggers(cls, v: Any) -> list[str]:
        from contrastkit.train.loggers import LOGGERS

        names = [n.strip() for n in v.split(",")] if isinstance(v, str) else list(v)
        unknown = [n for n in names if n not in LOGGERS]
        if unknown:
            raise ValueError(f"unknown logger {unknown[0]!r}; choose from {', '.join(LOGGERS)}")
        return names

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        from contrastkit.train.devices import DEVICE_PATTERN

        if not DEVICE_PATTERN.match(v):
            raise ValueError(f"{v!r} is not a device; use auto, cpu, cuda, cuda:N or mps")
        return v


class EvalConfig(Section):
    knn_k: int = Field(200, ge=1)
    knn_temperature: float = Field(0.1, gt=0)
    linear: bool = True
    retrieval: bool = Field(
        True, description="labelled data: MAP@R, R-precision and precision@1 of the test "
        "split searched against itself (Musgrave et al. 2020)"
    )  # fmt: skip
    baselines: bool = True
    batch_size: int = Field(1024, ge=1)
    few_labels: list[float] = Field(
        default_factory=list,
        description="shares of the labels for fine-tuning vs training from scratch, e.g. "
        "[0.01, 0.1] (labelled image, audio, table and graph data)",
    )
    fine_tune_steps: int = Field(300, ge=1, description="steps of each few-label fine-tuning")

    @field_validator("few_labels")
    @classmethod
    def _shares(cls, v: list[float]) -> list[float]:
        if any(not 0 < f <= 1 for f in v):
            raise ValueError(f"every share must be in (0, 1], got {v}")
        return v


class Config(Section):
    """A whole run configuration. A modality's config is a subclass whose `data`, `model`
    and `views` sections carry its keys (`contrastkit.pipeline.settings.config_class`)."""

    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    views: ViewsConfig = Field(default_factory=ViewsConfig)
    method: MethodConfig = Field(default_factory=MethodConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)

    @model_validator(mode="after")
    def _budget(self) -> Config:
        t = self.train
        if t.epochs is None and t.steps is None and t.max_time is None:
            raise ValueError("train: set at least one budget: epochs, steps or max_time")
        return self


def validation_messages(exc: ValidationError, unknown: Any) -> list[str]:
    """One sentence per error of a config validation; `unknown(key)` words unknown keys."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "config"
        if err["type"] == "extra_forbidden":
            lines.append(unknown(key))
        elif err["type"] == "missing":
            lines.append(f"config key '{key}' is required")
        elif key == "config":  # a check across sections (the budget)
            lines.append(str(err["msg"]).removeprefix("Value error, "))
        else:
            got = err.get("input")
            got_text = "" if isinstance(got, dict) else f" (got {got!r})"
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"config key '{key}': {message}{got_text}")
    return lines


def set_dotted(tree: dict, key: str, value: Any) -> None:
    """Set tree['a']['b'] = value for key 'a.b', creating sections as needed."""
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key '{key}': '{part}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """'optim.lr=0.1' -> ('optim.lr', 0.1); the value is read as YAML (numbers, lists, null)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def read_recipe(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A YAML recipe as a nested dict. A top-level `extends: other.yaml` (relative to the
    file) starts from that recipe and overrides it key by key; a `method` section replaces
    the base's whole (its keys belong to one method).

    Raises:
        ConfigError: missing or unreadable file, not a mapping, or an `extends` cycle.
    """
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    if path.resolve() in _seen:
        raise ConfigError(f"config file {path} extends itself (through {_seen[-1]})")
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from exc
    if not isinstance(tree, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections")
    parent = tree.pop("extends", None)
    if parent is None:
        return tree
    base = read_recipe(path.parent / str(parent), (*_seen, path.resolve()))
    if "method" in tree:
        base.pop("method", None)
    return merge_trees(base, tree)


def merge_trees(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`update` over `base`, section by section (a new dict; neither input changes)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_trees(out[key], value)
        else:
            out[key] = value
    return out


def dump_config(cfg: Config) -> str:
    """YAML text of a resolved config (every key, defaults included)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
