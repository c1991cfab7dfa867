"""A whole run configuration: recipe + overrides, assembled for its modality, validated
before any data is read.

The modality comes from `data.modality`, else from the dataset's name or what its path
holds. Its adapter contributes the keys of the `data`, `model` and `views` sections and the
defaults that differ from the common ones; a key that belongs to another modality is named
as such. The method is checked against the modality (one or two towers, views per item)
and its own arguments.
"""

from __future__ import annotations

import copy
import inspect
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, create_model

from contrastkit.config import (
    BUDGET_KEYS,
    Config,
    MethodConfig,
    merge_trees,
    read_recipe,
    set_dotted,
    validation_messages,
)
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.methods.params import check_method_settings, validate_method_params
from contrastkit.methods.registry import METHODS
from contrastkit.modalities.base import DefaultChoice, Modality
from contrastkit.modalities.registry import (
    MODALITIES,
    canonical_dataset,
    detect_modality,
    get_modality,
)
from contrastkit.recipes import find_recipe
from contrastkit.train.grad_cache import check_grad_cache

__all__ = [
    "CONFIG_FILE",
    "config_class",
    "load_config",
    "load_train_config",
    "read_run_config",
    "validate_config",
]

CONFIG_FILE = "config.yaml"
DEFAULT_DATASET = "fashion-mnist"


@cache
def config_class(modality: str) -> type[Config]:
    """The `Config` subclass whose data/model/views sections hold `modality`'s keys."""
    m = get_modality(modality)
    return create_model(  # type: ignore[call-overload]
        f"{m.name.title().replace('-', '')}Config",
        __base__=Config,
        data=(m.data_config, ...),
        model=(m.model_config, Field(default_factory=m.model_config)),
        views=(m.views_config, Field(default_factory=m.views_config)),
    )


def _unknown_key(modality: Modality):
    def describe(key: str) -> str:
        section, _, name = key.partition(".")
        owners = [
            m.name
            for m in MODALITIES.values()
            if name in getattr(getattr(m, f"{section}_config", None), "model_fields", {})
        ]
        if owners:
            return (
                f"config key '{key}' does not apply to {modality.name} data (it is a key of "
                f"{', '.join(owners)} data)"
            )
        if not name:
            return f"unknown config key '{key}'; known sections: {', '.join(Config.model_fields)}"
        fields = config_class(modality.name).model_fields[section].annotation.model_fields
        return f"unknown config key '{key}'; known keys in {section}: {', '.join(fields)}"

    return describe


def validate_config(tree: dict[str, Any]) -> Config:
    """Validate a nested dict into its modality's `Config`.

    Raises:
        ConfigError: unknown modality or key, a key of another modality, wrong type or
            value, a method that does not fit the modality or the views (all errors of a
            section at once, named by key).
        DatasetNotFoundError: `data.dataset` is neither a named dataset nor a path.
    """
    tree = copy.deepcopy(tree)
    data = tree.setdefault("data", {})
    if not isinstance(data, dict):
        raise ConfigError("config key 'data' must be a section (a mapping of keys)")
    data.setdefault("dataset", DEFAULT_DATASET)
    named = canonical_dataset(str(data["dataset"]))
    if named is not None and data.get("modality") in (None, named[0]):
        data["dataset"] = named[1]  # the adapter's own spelling of the name
    modality = get_modality(data.get("modality") or detect_modality(str(data["dataset"])))
    data["modality"] = modality.name
    tree = merge_trees(copy.deepcopy(modality.recipe_defaults(tree)), tree)
    try:
        cfg = config_class(modality.name).model_validate(tree)
    except ValidationError as exc:
        raise ConfigError("; ".join(validation_messages(exc, _unknown_key(modality)))) from None
    check_method(cfg, modality)
    modality.check(cfg)
    return cfg


def check_method(cfg: Config, modality: Modality) -> None:
    """Validate the method section's arguments and the method's fit to the modality."""
    name = cfg.method.name
    params = validate_method_params(name, cfg.method.params)
    cfg.method = MethodConfig(name=name, **params)
    cls = METHODS[name]
    check_method_settings(name, params, cfg.train.batch_size)
    if not modality.trains(cls):
        fitting = [n for n, c in METHODS.items() if modality.trains(c)]
        why = (
            f"{name} trains {cls.towers} encoder(s), {modality.name} data trains {modality.towers}"
            if cls.towers != modality.towers
            else f"{name} trains on {', '.join(cls.modalities or ())} data only"
        )
        raise ConfigError(f"config key 'method.name': {why}; choose one of {', '.join(fitting)}")
    has_head = "head" in inspect.signature(cls.__init__).parameters
    if params.get("matryoshka_dims") and has_head and cfg.model.proj_dim != 0:
        raise ConfigError(
            f"config key 'method.matryoshka_dims': Matryoshka cuts the embeddings {name}'s loss "
            f"sees, which its projection head makes; set model.proj_dim: 0 (got "
            f"{cfg.model.proj_dim}) so they are the encoder's output that evaluation uses"
        )
    if cfg.model.proj_dim == 0 and not has_head:
        raise ConfigError(
            f"config key 'model.proj_dim': {name} has no projection head to leave out; "
            "use a size >= 1"
        )
    views = modality.view_count(cfg)
    if views < cls.min_views:
        raise ConfigError(
            f"config key 'views.n_views': {name} needs {cls.min_views} views per item, "
            f"the views section makes {views}"
        )
    check_grad_cache(
        cls, cfg.train.grad_cache_chunk, cfg.train.precision, "config key 'train.grad_cache_chunk'"
    )


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML recipe (optional: a file, or a packaged recipe's name such as
    `simclr_fashion_mnist`), apply dotted-key overrides, validate.

    Raises:
        ConfigError: unreadable file, unknown key, wrong type or out-of-range value.
    """
    tree: dict[str, Any] = read_recipe(find_recipe(path)) if path is not None else {}
    for key, value in (overrides or {}).items():
        if value is not None:
            set_dotted(tree, key, value)
    return validate_config(tree)


def load_train_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> tuple[Config, list[DefaultChoice]]:
    """`load_config` for a new training run: without a recipe (`path` None), the modality
    looks at the data and fills in what the user left unset (`Modality.data_defaults`:
    for images the views, size, backbone, batch, budget, monitor hold-out and kNN k).
    The user's overrides always win; the config is validated first (with a stand-in
    budget when none is given), so a mistake is reported before any data is read, and a
    missing budget only when the modality chose none.

    Returns:
        The config and the data-aware choices (values and one-line reasons; empty with a
        recipe or for modalities without any).
    """
    if path is not None:
        return load_config(path, overrides), []
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    stand_in = {} if {"train", *BUDGET_KEYS} & set(given) else {"train.max_time": 1}
    cfg = load_config(None, {**stand_in, **given})  # every check but the budget's
    choices = get_modality(cfg.data.modality).data_defaults(cfg, set(given))  # may set one
    chosen = {key: value for choice in choices for key, value in choice.values.items()}
    return load_config(None, {**chosen, **given}), choices


def read_run_config(run_dir: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """The resolved config a run folder records (its modality included), with dotted-key
    `overrides` applied (validated again) when given.

    Raises:
        ContrastkitError: the folder is not a run folder.
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise ContrastkitError(
            f"{run_dir} is not a contrastkit run folder (no {CONFIG_FILE}); "
            "pass the folder that `contrastkit train` printed"
        )
    return load_config(path, overrides)
