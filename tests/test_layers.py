"""The package's layers: no import cycle between folders, and no import from a lower folder
to a higher one (a loss knows nothing of models, a modality nothing of the run path)."""

from __future__ import annotations

import ast
from pathlib import Path

import contrastkit

PACKAGE = Path(contrastkit.__file__).parent
# Lowest first; a module may import from its own layer's folder and from any lower layer.
LAYERS = [
    {"errors", "files", "extras", "recipes", "progress"},
    {"nn"},
    {"losses"},
    {"data"},
    {"evaluate"},
    {"methods"},
    {"views", "encoders"},
    {"train"},
    {"index", "config"},
    {"modalities"},
    {"pipeline"},
    {"report", "export", "model"},
    {
        "cli",
        "cli_bench",
        "cli_catalog",
        "cli_evaluate",
        "cli_export",
        "cli_finetune",
        "cli_index",
        "cli_output",
        "cli_recommend",
        "cli_report",
        "cli_tune",
        "__init__",
    },
]


def _unit(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """The top-level contrastkit units a module imports (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("contrastkit.")}
    return found


def _level(unit: str) -> int:
    for level, units in enumerate(LAYERS):
        if unit in units:
            return level
    raise AssertionError(f"{unit} is in no layer; add it to LAYERS")


def test_every_import_goes_to_the_same_or_a_lower_layer() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        for target in _imports(path) - {unit}:
            same_pair = {unit, target} in ({"views", "encoders"}, {"index", "config"})
            if _level(target) > _level(unit) or same_pair:
                wrong.append(f"{path.relative_to(PACKAGE)} imports contrastkit.{target}")
    assert not wrong, "\n".join(wrong)
