"""Progress bars for long steps (embedding, index build, evaluation, report, decoding).

Every bar goes to stderr, never stdout (so `--json` output stays one document). Whether
bars are drawn is one switch for the whole call tree, set by the command line with
`progress_bars(...)`: True draws them even when stderr is not a terminal (a log file),
False hides them (`--no-progress`), None (the default) draws them when stderr is a
terminal, as tqdm does with `disable=None`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["bar", "bars_shown", "progress_bars"]

_SHOWN: ContextVar[bool | None] = ContextVar("contrastkit_progress", default=None)


@contextmanager
def progress_bars(shown: bool | None) -> Iterator[None]:
    """Within the block, bars are forced on (True), off (False) or drawn on a terminal only
    (None). The previous setting is restored after.

    Example:
        >>> with progress_bars(False):
        ...     bars_shown()
        False
    """
    token = _SHOWN.set(shown)
    try:
        yield
    finally:
        _SHOWN.reset(token)


def bars_shown() -> bool:
    """Whether a bar started now is drawn (see `progress_bars`)."""
    shown = _SHOWN.get()
    return sys.stderr.isatty() if shown is None else shown


def bar(
    total: int | None, desc: str, unit: str = "item", shown: bool | None = None, **options: Any
):
    """A tqdm bar on stderr with rate and ETA, drawn when `shown` (default: `bars_shown()`);
    use it as a context manager and call `.update(n)`.

    Args:
        total: units of work (items, batches, steps), or None when unknown.
        desc: the step's name, shown before the bar ("embed", "evaluate", "decode").
        unit: what one unit is.
        shown: draw it (True) or not (False) whatever the switch says.
        options: further tqdm arguments (e.g. `leave=False`).
    """
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
        disable=not (bars_shown() if shown is None else shown), **options,
    )  # fmt: skip
