"""Files a run writes: atomic replacement that honours the umask, and strict JSON records.

Every JSON record of a run (summary.json, eval.json, a fine-tuning's JSON, an index's
index.json) goes through `write_json`: a float that is NaN or infinite becomes `null`
beside a `<key>_reason` entry saying why ("non-finite (nan)"), and the encoder refuses any
that slipped through (`allow_nan=False`), so a strict parser always reads the file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "current_umask", "finite_json", "write_json"]


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore at once
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[str], Any]) -> None:
    """Call `write(tmp_path)` on a temporary file next to `path`, fsync, then rename over
    `path`: a crash mid-write leaves the previous file intact.

    The file gets the mode a plain `open` would give it (0o666 minus the umask), not the
    0o600 of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _reason(value: float) -> str:
    return f"non-finite ({'nan' if math.isnan(value) else 'inf' if value > 0 else '-inf'})"


def finite_json(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None; in a dict, the key `k`
    of such a float also gains `k_reason` ("non-finite (nan)") unless the dict has one.

    Example:
        >>> finite_json({"final_loss": float("nan"), "steps": 3})
        {'final_loss': None, 'final_loss_reason': 'non-finite (nan)', 'steps': 3}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            out[key] = finite_json(item)
            if isinstance(item, float) and not math.isfinite(item):
                out.setdefault(f"{key}_reason", _reason(item))
        return out
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


def write_json(path: Path, payload: Any, *, indent: int | None = 2) -> None:
    """Write `payload` as strict JSON, atomically (see `finite_json` for NaN/infinity).

    Raises:
        ValueError: a non-finite number hides where `finite_json` does not look (say a
            numpy scalar), rather than an invalid file.
    """
    text = json.dumps(finite_json(payload), indent=indent, allow_nan=False) + "\n"
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))
