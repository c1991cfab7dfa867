"""Every recipe in configs/ is valid, and every method has a Fashion-MNIST recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrastkit.methods import METHODS
from contrastkit.pipeline.settings import load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*_fashion_mnist.yaml")), ids=lambda p: p.stem)
def test_recipe_is_valid(path: Path) -> None:
    cfg = load_config(path)
    assert path.stem == f"{cfg.method.name}_fashion_mnist"
    assert cfg.data.dataset == "fashion-mnist"
    assert cfg.train.max_time == 600  # the shared 10-minute budget


@pytest.mark.parametrize("name", sorted(n for n, c in METHODS.items() if c.towers == 1))
def test_every_image_method_has_a_recipe(name: str) -> None:
    assert (CONFIGS / f"{name}_fashion_mnist.yaml").is_file()
