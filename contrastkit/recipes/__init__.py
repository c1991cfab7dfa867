"""Recipes shipped with the package: YAML run configs for every named dataset and method.

A recipe is named by its file's stem (`simclr_fashion_mnist`); `contrastkit train --config
NAME` and `load_config(NAME)` read the packaged file when NAME is not a file on disk, and
`contrastkit recipes` lists them. A recipe's leading comment block says what it trains and
why its settings are what they are; `extends: other.yaml` starts from a sibling recipe.

Example:
    >>> from contrastkit.recipes import recipe_names, recipe_path
    >>> "simclr_fashion_mnist" in recipe_names()
    True
    >>> recipe_path("simclr_fashion_mnist").name
    'simclr_fashion_mnist.yaml'
"""

from __future__ import annotations

from pathlib import Path

from contrastkit.errors import ConfigError

__all__ = ["RECIPE_DIR", "find_recipe", "recipe_names", "recipe_path", "recipe_summary"]

RECIPE_DIR = Path(__file__).resolve().parent
_SUFFIX = ".yaml"


def recipe_names() -> list[str]:
    """The packaged recipes' names, sorted."""
    return sorted(p.stem for p in RECIPE_DIR.glob(f"*{_SUFFIX}"))


def recipe_path(name: str) -> Path:
    """The file of packaged recipe `name` (with or without `.yaml`).

    Raises:
        ConfigError: no packaged recipe has that name.
    """
    stem = name.removesuffix(_SUFFIX)
    path = RECIPE_DIR / f"{stem}{_SUFFIX}"
    if "/" in stem or "\\" in stem or not path.is_file():
        raise ConfigError(
            f"{name!r} is neither a config file nor a packaged recipe; "
            "`contrastkit recipes` lists the recipes"
        )
    return path


def find_recipe(source: str | Path) -> Path:
    """A config file on disk as given, else the packaged recipe of that name.

    Raises:
        ConfigError: neither a file nor a packaged recipe's name.
    """
    path = Path(source)
    if path.is_file():
        return path
    if path.parent == Path(".") and path.name.removesuffix(_SUFFIX) in recipe_names():
        return recipe_path(path.name)
    stem = path.name.removesuffix(_SUFFIX)
    hint = f"; the packaged recipe is --config {stem}" if stem in recipe_names() else ""
    raise ConfigError(
        f"config file {source} does not exist and is not a packaged recipe's name "
        f"(`contrastkit recipes` lists them){hint}"
    )


def recipe_summary(name: str, width: int = 72) -> str:
    """The first sentence of a recipe's leading comment block, cut to `width` characters."""
    lines = []
    for line in recipe_path(name).read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    cut = text.find(". ")
    sentence = text if cut < 0 else text[: cut + 1]
    return sentence if len(sentence) <= width else sentence[: width - 3].rstrip() + "..."
