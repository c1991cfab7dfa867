"""Every packaged recipe is valid, is found by name, and every method has a Fashion-MNIST
recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrastkit.errors import ConfigError
from contrastkit.methods import METHODS
from contrastkit.pipeline.settings import load_config
from contrastkit.recipes import RECIPE_DIR, find_recipe, recipe_names, recipe_summary

CONFIGS = RECIPE_DIR


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*_fashion_mnist.yaml")), ids=lambda p: p.stem)
def test_recipe_is_valid(path: Path) -> None:
    cfg = load_config(path)
    assert path.stem == f"{cfg.method.name}_fashion_mnist"
    assert cfg.data.dataset == "fashion-mnist"
    assert cfg.train.max_time == 600  # the shared 10-minute budget


@pytest.mark.parametrize(
    "name", sorted(n for n, c in METHODS.items() if c.towers == 1 and c.modalities is None)
)
def test_every_image_method_has_a_recipe(name: str) -> None:
    assert (CONFIGS / f"{name}_fashion_mnist.yaml").is_file()


def test_recipes_are_found_by_name_and_listed() -> None:
    assert set(recipe_names()) == {p.stem for p in CONFIGS.glob("*.yaml")}
    assert find_recipe("digits") == find_recipe("digits.yaml") == CONFIGS / "digits.yaml"
    assert recipe_summary("simclr_fashion_mnist").startswith("SimCLR on Fashion-MNIST")


def test_a_file_on_disk_wins_over_a_recipe_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits.yaml").write_text("data:\n  dataset: fashion-mnist\ntrain:\n  steps: 3\n")
    assert load_config("digits.yaml").data.dataset == "fashion-mnist"
    assert load_config("digits").data.dataset == "digits"  # no file 'digits': the recipe


@pytest.mark.parametrize("name", ["no_such_recipe", "sub/simclr_fashion_mnist.yaml"])
def test_unknown_recipe_names_say_where_to_look(name: str) -> None:
    with pytest.raises(ConfigError, match=r"does not exist.*contrastkit recipes"):
        find_recipe(name)


def test_cli_lists_the_recipes() -> None:
    from typer.testing import CliRunner

    from contrastkit.cli import app

    out = CliRunner().invoke(app, ["recipes"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert len(lines) == len(recipe_names())
    assert any(line.startswith("simclr_fashion_mnist ") for line in lines)


def test_an_old_configs_path_points_to_the_packaged_recipe() -> None:
    with pytest.raises(ConfigError, match=r"packaged recipe is --config simclr_fashion_mnist$"):
        find_recipe("configs/simclr_fashion_mnist.yaml")
