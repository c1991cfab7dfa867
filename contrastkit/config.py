"""The run configuration: YAML recipes plus command-line overrides, validated before any work.

Every section rejects unknown keys; every value is type- and range-checked. Errors name
the key, the value given and what is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contrastkit.errors import ConfigError
from contrastkit.methods.params import validate_method_params


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    dataset: str = Field("fashion-mnist", description="fashion-mnist, digits or an image folder")
    data_dir: str | None = Field(None, description="where the dataset's files are")
    image_size: int | None = Field(None, ge=4, le=1024, description="resize folder images")
    channels: Literal[1, 3] | None = None
    holdout: int = Field(
        1000, ge=0, description="labelled training items held out as kNN-monitor queries"
    )
    monitor_bank: int = Field(10000, ge=0, description="labelled items in the kNN-monitor bank")
    exclude_classes: list[int] = Field(
        default_factory=list,
        description="labels left out of training (e.g. to train on 'normal' classes only)",
    )


class ModelConfig(_Section):
    backbone: Literal["compact_cnn", "resnet18", "resnet34", "resnet50"] = "compact_cnn"
    small_input: bool = True
    widths: list[int] = Field(default_factory=lambda: [32, 64, 128, 256], min_length=1)
    blocks: int | list[int] = 1
    pool_size: int = Field(1, ge=1, le=8, description="compact_cnn: final avg-pool grid side")
    proj_hidden_dim: int = Field(2048, ge=1)
    proj_dim: int = Field(128, ge=1)
    sync_batchnorm: bool = Field(
        False, description="BatchNorm statistics over all processes' batches (--nproc > 1)"
    )

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, v: list[int]) -> list[int]:
        if min(v) < 1:
            raise ValueError(f"every width must be >= 1, got {v}")
        return v


class ViewsConfig(_Section):
    size: int | None = Field(None, ge=4, le=1024, description="view size (default: image size)")
    eval_size: int | None = Field(
        None, ge=4, le=1024, description="resize for embedding (default: keep the image size)"
    )
    n_views: int = Field(2, ge=2, le=16)
    local_views: int = Field(0, ge=0, le=16, description="extra small multi-crop views")
    local_size: int = Field(12, ge=4, le=1024)
    local_crop_scale: tuple[float, float] = (0.05, 0.4)
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (0.75, 4 / 3)
    flip_p: float = Field(0.5, ge=0, le=1)
    jitter_p: float = Field(0.8, ge=0, le=1)
    brightness: float = Field(0.4, ge=0)
    contrast: float = Field(0.4, ge=0)
    saturation: float = Field(0.4, ge=0)
    hue: float = Field(0.1, ge=0, le=0.5)
    grayscale_p: float = Field(0.2, ge=0, le=1)
    blur_p: float = Field(0.5, ge=0, le=1)
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = Field(0.0, ge=0, le=1)
    mean: list[float] | None = Field(None, description="per-channel mean; None: from the data")
    std: list[float] | None = Field(None, description="per-channel std; None: from the data")

    @field_validator("crop_scale", "local_crop_scale")
    @classmethod
    def _scale(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1] <= 1:
            raise ValueError(f"must be (min, max) with 0 < min <= max <= 1, got {list(v)}")
        return v

    @field_validator("crop_ratio", "blur_sigma")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1]:
            raise ValueError(f"must be (min, max) with 0 < min <= max, got {list(v)}")
        return v


class MethodConfig(BaseModel):
    """`name` picks the method; every other key is one of its arguments (see
    `contrastkit methods`), checked against the method by `validate_config`."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    name: str = "simclr"

    @property
    def params(self) -> dict[str, Any]:
        """The method's arguments (the section without `name`)."""
        return dict(self.model_extra or {})


class OptimConfig(_Section):
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


class TrainConfig(_Section):
    batch_size: int = Field(256, ge=2, le=65536)
    epochs: float | None = Field(None, gt=0)
    steps: int | None = Field(None, ge=1)
    max_time: float | None = Field(None, gt=0, description="seconds, or 90s / 10m / 1h")
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

    @field_validator("max_time", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float | None:
        return parse_duration(v)


class EvalConfig(_Section):
    knn_k: int = Field(200, ge=1)
    knn_temperature: float = Field(0.1, gt=0)
    linear: bool = True
    baselines: bool = True
    batch_size: int = Field(1024, ge=1)


class Config(_Section):
    data: DataConfig = Field(default_factory=DataConfig)
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


def _format_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "config"
        if err["type"] == "extra_forbidden":
            section = key.rsplit(".", 1)[0] if "." in key else ""
            lines.append(f"unknown config key '{key}'{_known_keys(section)}")
        else:
            got = err.get("input")
            got_text = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"config key '{key}': {err['msg']}{got_text}")
    return "; ".join(lines)


def _known_keys(section: str) -> str:
    model = Config.model_fields.get(section)
    if model is None:
        return f"; known sections: {', '.join(Config.model_fields)}"
    fields = model.annotation.model_fields  # type: ignore[union-attr]
    return f"; known keys in {section}: {', '.join(fields)}"


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
    return _merge(base, tree)


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML recipe (optional), apply dotted-key overrides, validate.

    Raises:
        ConfigError: unreadable file, unknown key, wrong type or out-of-range value.
    """
    tree: dict[str, Any] = read_recipe(Path(path)) if path is not None else {}
    for key, value in (overrides or {}).items():
        if value is not None:
            set_dotted(tree, key, value)
    return validate_config(tree)


def validate_config(tree: dict[str, Any]) -> Config:
    """Validate a nested dict into a `Config`, raising `ConfigError` with key names."""
    try:
        cfg = Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None
    params = validate_method_params(cfg.method.name, cfg.method.params)
    cfg.method = MethodConfig(name=cfg.method.name, **params)
    return cfg


def dump_config(cfg: Config) -> str:
    """YAML text of a resolved config (every key, defaults included)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
