"""Run configuration: bad values name their key, overrides and durations parse, YAML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrastkit.config import Config, dump_config, parse_duration, parse_override
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.pipeline.settings import load_config, validate_config

STEPS = {"train.steps": 5}  # a budget, so only the value under test is wrong

BAD_CONFIGS = [
    pytest.param({**STEPS, "optim.lrr": 0.1}, "optim.lrr", id="unknown-key"),
    pytest.param({**STEPS, "optimizer.lr": 0.1}, "optimizer", id="unknown-section"),
    pytest.param({**STEPS, "optim.lr": -0.1}, "optim.lr", id="negative-lr"),
    pytest.param({**STEPS, "optim.lr": 0}, "optim.lr", id="zero-lr"),
    pytest.param({**STEPS, "optim.lr": "fast"}, "optim.lr", id="lr-not-a-number"),
    pytest.param({**STEPS, "train.batch_size": 1}, "train.batch_size", id="batch-size-1"),
    pytest.param({**STEPS, "train.batch_size": "big"}, "train.batch_size", id="batch-size-str"),
    pytest.param({"train.steps": 2.5}, "train.steps", id="fractional-steps"),
    pytest.param({"train.steps": 0}, "train.steps", id="zero-steps"),
    pytest.param({"train.epochs": -1}, "train.epochs", id="negative-epochs"),
    pytest.param({**STEPS, "views.crop_scale": [0.5, 0.2]}, "views.crop_scale", id="scale-rev"),
    pytest.param({**STEPS, "views.crop_scale": [0.0, 1.0]}, "views.crop_scale", id="scale-zero"),
    pytest.param({**STEPS, "views.crop_ratio": [2.0, 1.0]}, "views.crop_ratio", id="ratio-rev"),
    pytest.param(
        {**STEPS, "views.local_crop_scale": [0.4, 1.2]}, "views.local_crop_scale", id="local-scale"
    ),
    pytest.param({**STEPS, "views.blur_sigma": [0, 1]}, "views.blur_sigma", id="blur-sigma"),
    pytest.param({**STEPS, "views.flip_p": 1.5}, "views.flip_p", id="probability"),
    pytest.param({**STEPS, "views.hue": 0.7}, "views.hue", id="hue"),
    pytest.param({**STEPS, "views.n_views": 1}, "views.n_views", id="one-view"),
    pytest.param({"train.max_time": "ten minutes"}, "train.max_time", id="max-time-words"),
    pytest.param({"train.max_time": "5d"}, "train.max_time", id="max-time-unit"),
    pytest.param({"train.max_time": "0s"}, "train.max_time", id="max-time-zero"),
    pytest.param({}, "train", id="no-budget"),
    pytest.param({"train.seed": 3}, "train", id="no-budget-other-keys"),
    pytest.param({**STEPS, "train.precision": "fp8"}, "train.precision", id="precision"),
    pytest.param({**STEPS, "model.backbone": "vgg"}, "model.backbone", id="backbone"),
    pytest.param({**STEPS, "model.widths": [16, 0]}, "model.widths", id="widths"),
    pytest.param({**STEPS, "model.pool_size": 9}, "model.pool_size", id="pool-size"),
    pytest.param({**STEPS, "method.temperature": 0}, "method.temperature", id="temperature-0"),
    pytest.param({**STEPS, "method.name": "nope"}, "method.name", id="method"),
    pytest.param({**STEPS, "method.queue_size": 8}, "method.queue_size", id="key-of-other-method"),
    pytest.param(
        {**STEPS, "method.name": "moco", "method.queue_size": "many"},
        "method.queue_size",
        id="method-type",
    ),
    pytest.param(
        {**STEPS, "method.name": "moco", "method.momentum": 1.5}, "method.momentum", id="range"
    ),
    pytest.param({**STEPS, "train.threads": 0}, "train.threads", id="threads-0"),
    pytest.param({**STEPS, "data.channels": 2}, "data.channels", id="channels"),
    pytest.param({**STEPS, "data.holdout": -1}, "data.holdout", id="holdout"),
    pytest.param({**STEPS, "optim.optimizer": "rmsprop"}, "optim.optimizer", id="optimizer"),
    pytest.param({**STEPS, "optim.momentum": 1.0}, "optim.momentum", id="momentum"),
    pytest.param({**STEPS, "eval.knn_k": 0}, "eval.knn_k", id="knn-k"),
    pytest.param({**STEPS, "train": 5}, "train", id="section-is-a-value"),
    pytest.param({"train.steps": 5, "train.steps.x": 1}, "train.steps", id="value-as-section"),
]


@pytest.mark.parametrize(("overrides", "key"), BAD_CONFIGS)
def test_bad_config_raises_config_error_naming_the_key(overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert key in str(info.value)
    assert "\n" not in str(info.value)  # one line for the command line
    assert isinstance(info.value, ContrastkitError) and isinstance(info.value, ValueError)


def test_error_message_shows_value_and_known_names() -> None:
    with pytest.raises(ConfigError, match=r"optim\.lr.*-1"):
        load_config(None, {**STEPS, "optim.lr": -1})
    with pytest.raises(ConfigError, match="known keys in optim: optimizer, lr"):
        load_config(None, {**STEPS, "optim.lrr": 0.1})
    with pytest.raises(ConfigError, match="known sections: data, model, views"):
        load_config(None, {**STEPS, "optimizer.lr": 0.1})
    with pytest.raises(ConfigError, match="epochs, steps or max_time"):
        load_config(None, {})


def test_several_errors_are_all_reported() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, {**STEPS, "optim.lr": -1, "train.batch_size": 1})
    assert "optim.lr" in str(info.value) and "train.batch_size" in str(info.value)


# ---------------------------------------------------------------- good values


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("optim.lr=0.1", "optim.lr", 0.1),
        ("train.steps=100", "train.steps", 100),
        ("train.batch_size = 64", "train.batch_size", 64),
        ("optim.weight_decay=1e-4", "optim.weight_decay", "1e-4"),  # YAML 1.1: a string
        ("optim.weight_decay=1.0e-4", "optim.weight_decay", 1.0e-4),
        ("train.max_time=90s", "train.max_time", "90s"),
        ("views.crop_scale=[0.2, 1.0]", "views.crop_scale", [0.2, 1.0]),
        ("train.channels_last=false", "train.channels_last", False),
        ("data.data_dir=null", "data.data_dir", None),
        ("data.dataset=/tmp/a=b", "data.dataset", "/tmp/a=b"),  # split at the first '='
        ("data.dataset=", "data.dataset", None),
    ],
)
def test_parse_override(text: str, key: str, value) -> None:
    assert parse_override(text) == (key, value)


def test_parse_override_needs_an_equals_sign() -> None:
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_override("optim.lr")


def test_overrides_reach_the_config() -> None:
    pairs = dict(
        parse_override(t)
        for t in ("optim.lr=0.1", "train.steps=7", "views.crop_scale=[0.2, 0.9]", "train.seed=3")
    )
    cfg = load_config(None, pairs)
    assert cfg.optim.lr == 0.1 and cfg.train.steps == 7 and cfg.train.seed == 3
    assert tuple(cfg.views.crop_scale) == (0.2, 0.9)
    assert cfg.optim.optimizer == "sgd"  # untouched keys keep their defaults


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90.0),
        ("90", 90.0),
        ("90sec", 90.0),
        ("10m", 600.0),
        ("10min", 600.0),
        ("1.5h", 5400.0),
        (" 2 h ", 7200.0),
        (45, 45.0),
        (2.5, 2.5),
        (None, None),
    ],
)
def test_durations(value, seconds) -> None:
    assert parse_duration(value) == seconds
    if seconds is not None:
        assert load_config(None, {"train.max_time": value}).train.max_time == seconds


@pytest.mark.parametrize("value", ["ten", "5d", "-5s", "1h30m", "", "m"])
def test_bad_durations(value: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_any_one_budget_is_enough() -> None:
    assert load_config(None, {"train.epochs": 0.5}).train.epochs == 0.5
    assert load_config(None, {"train.steps": 1}).train.steps == 1
    assert load_config(None, {"train.max_time": "1m"}).train.max_time == 60.0


def test_validate_config_of_nested_dict() -> None:
    cfg = validate_config({"train": {"steps": 3}, "model": {"backbone": "resnet18"}})
    assert isinstance(cfg, Config) and cfg.model.backbone == "resnet18"


# ---------------------------------------------------------------- YAML files


def test_yaml_round_trip(tmp_path: Path) -> None:
    cfg = load_config(
        None,
        {
            "data.dataset": "digits",
            "train.max_time": "10m",
            "train.steps": 50,
            "optim.lr": 0.05,
            "views.crop_scale": [0.3, 1.0],
            "views.mean": [0.5],
            "views.std": [0.25],
            "model.widths": [8, 16],
        },
    )
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(cfg))
    again = load_config(path)
    assert again == cfg
    assert again.train.max_time == 600.0
    assert dump_config(again) == dump_config(cfg)


def test_yaml_recipe_plus_overrides(tmp_path: Path) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text("optim:\n  lr: 0.5\ntrain:\n  max_time: 90s\n  batch_size: 32\n")
    cfg = load_config(path, {"optim.lr": 0.1, "train.seed": 4})
    assert cfg.optim.lr == 0.1  # overrides win over the file
    assert cfg.train.max_time == 90.0 and cfg.train.batch_size == 32 and cfg.train.seed == 4


def test_packaged_recipe_by_name_is_valid() -> None:
    for name in ("simclr_fashion_mnist", "simclr_fashion_mnist.yaml"):
        cfg = load_config(name)
        assert cfg.data.dataset == "fashion-mnist" and cfg.train.max_time == 600.0


def test_empty_yaml_file_needs_a_budget(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(ConfigError, match="budget"):
        load_config(path)
    assert load_config(path, STEPS).train.steps == 5


def test_missing_yaml_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_non_mapping_yaml_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("train: {steps: 5\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_unknown_key_in_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("train:\n  steps: 5\n  bach_size: 64\n")
    with pytest.raises(ConfigError, match=r"train\.bach_size"):
        load_config(path)


def test_exponent_override_is_read_as_a_number() -> None:
    """PyYAML reads '1e-4' as a string; the config still takes it as a float."""
    key, value = parse_override("optim.weight_decay=1e-4")
    assert load_config(None, {**STEPS, key: value}).optim.weight_decay == 1e-4


def test_recipe_extends_a_base_and_replaces_its_method_section(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "train: {steps: 7, batch_size: 32}\nmethod: {name: simclr, temperature: 0.3}\n"
    )
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\ntrain: {batch_size: 64}\nmethod: {name: moco, queue_size: 256}\n"
    )
    cfg = load_config(tmp_path / "child.yaml")
    assert cfg.train.steps == 7 and cfg.train.batch_size == 64
    assert cfg.method.name == "moco" and cfg.method.params["queue_size"] == 256
    assert "temperature" in cfg.method.params  # moco's own default, not simclr's 0.3
    assert cfg.method.params["temperature"] == 0.2


def test_recipe_extends_cycle_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ConfigError, match="extends itself"):
        load_config(tmp_path / "a.yaml")
