"""What contrastkit offers and what a config resolves to: `datasets`, `methods`, `recipes`
and `config` (the validated config as YAML, without training)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from contrastkit.cli_output import AsJson, print_json

Opt = typer.Option


def overrides(pairs: list[str] | None, **flags: Any) -> dict[str, Any]:
    """The config keys of the flags given (None = not given) plus each --set KEY=VALUE."""
    from contrastkit.config import parse_override

    out = {key: value for key, value in flags.items() if value is not None}
    for text in pairs or []:
        key, value = parse_override(text)
        out[key] = value
    return out


def choice_lines(dataset: str, choices: list[Any]) -> list[str]:
    """Data-aware defaults (`DefaultChoice`s) as lines to print: a heading, then one line
    of values and why each; none without choices."""
    if not choices:
        return []
    head = (f"{dataset}: no recipe given; chosen from the data (a recipe, a flag or --set "
            "replaces any of them; all are written to config.yaml):")  # fmt: skip
    return [head, *(f"  {choice.line()}" for choice in choices)]


def datasets(as_json: AsJson = False) -> None:
    """List the named datasets of every modality, and the files and folders each reads."""
    from contrastkit.modalities.registry import MODALITIES

    if as_json:
        print_json([
            {"modality": m.name, "summary": m.summary, "datasets": dict(m.datasets)}
            for m in MODALITIES.values()
        ])  # fmt: skip
        return
    for modality in MODALITIES.values():
        typer.echo(f"{modality.name}: {modality.summary}")
        for name, text in modality.datasets.items():
            typer.echo(f"  {name:22s} {text}")


def methods(
    keys: Annotated[bool, Opt(help="also list each method's config keys and defaults")] = False,
    as_json: AsJson = False,
) -> None:
    """List the training methods, one line each, with the modalities they train on."""
    from contrastkit.methods import METHODS
    from contrastkit.methods.params import method_params
    from contrastkit.modalities.registry import MODALITIES

    rows = []
    for name, cls in METHODS.items():
        on = [m.name for m in MODALITIES.values() if m.trains(cls)]
        row = {"name": name, "summary": cls.summary, "uses_labels": cls.needs_labels,
               "modalities": on}  # fmt: skip
        if keys:
            row["keys"] = {f"method.{k}": d for k, (_, d) in method_params(name).items()}
        rows.append(row)
    if as_json:
        print_json(rows)
        return
    for name, cls in METHODS.items():
        labels = " [uses labels]" if cls.needs_labels else ""
        on = ", ".join(m.name for m in MODALITIES.values() if m.trains(cls))
        typer.echo(f"{name:12s} {cls.summary}{labels} [{on}]")
        if keys:
            for key, (_, default) in method_params(name).items():
                typer.echo(f"{'':14s}method.{key} = {default!r}")


def recipes(
    path: Annotated[bool, Opt(help="also print each recipe's file")] = False,
    as_json: AsJson = False,
) -> None:
    """List the packaged recipes: `contrastkit train --config NAME` runs one, and
    `contrastkit config NAME` prints it in full."""
    from contrastkit.recipes import recipe_names, recipe_path, recipe_summary

    if as_json:
        print_json([
            {"name": n, "summary": recipe_summary(n), "path": str(recipe_path(n))}
            for n in recipe_names()
        ])  # fmt: skip
        return
    for name in recipe_names():
        typer.echo(f"{name:28s} {recipe_summary(name)}")
        if path:
            typer.echo(f"{'':28s} {recipe_path(name)}")


def show_config(
    source: Annotated[
        Path | None,
        typer.Argument(
            help="a YAML file, a packaged recipe's name or a run folder (default: the defaults)"
        ),
    ] = None,
    dataset: Annotated[str | None, Opt(help="a named dataset or a file or folder")] = None,
    modality: Annotated[str | None, Opt(help="the data's modality (default: from it)")] = None,
    method: Annotated[str | None, Opt(help="training method")] = None,
    set_: Annotated[
        list[str] | None, Opt("--set", help="any config key: --set optim.warmup=0.1")
    ] = None,
    resolve: Annotated[
        bool, Opt(help="also read the data and fill in what depends on it (image size, mean)")
    ] = False,
    as_json: Annotated[bool, Opt("--json", help="print the config as JSON instead of YAML")] = (
        False
    ),
) -> None:
    """Print the validated config (YAML, every key) that `train` would use, without
    training; a mistake is the same one sentence `train` prints."""
    from contrastkit.config import dump_config
    from contrastkit.pipeline.settings import load_train_config, read_run_config

    flags = {"data.dataset": dataset, "data.modality": modality, "method.name": method}
    given = overrides(set_, **flags)
    if source is not None and source.is_dir():
        cfg = read_run_config(source, given)
    else:  # without a recipe, with the data-aware defaults `train` would choose
        cfg, choices = load_train_config(source, given)
        for line in choice_lines(cfg.data.dataset, choices):
            typer.echo(line, err=True)
    if resolve:
        import tempfile

        from contrastkit.modalities.registry import get_modality

        adapter = get_modality(cfg.data.modality)
        with tempfile.TemporaryDirectory() as scratch:
            cfg = adapter.resolve(cfg, adapter.prepare(cfg, Path(scratch)))
    if as_json:
        print_json(cfg.model_dump(mode="json"))
    else:
        typer.echo(dump_config(cfg), nl=False)


def register(app: typer.Typer) -> None:
    """Add `datasets`, `methods`, `recipes` and `config` to the `contrastkit` command."""
    app.command()(datasets)
    app.command()(methods)
    app.command()(recipes)
    app.command("config")(show_config)
