"""Checkpoints written atomically, loaded without executing pickled code; safetensors export."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from contrastkit.errors import ContrastkitError
from contrastkit.files import atomic_write

_CKPT = re.compile(r"^step_(\d+)\.pt$")


def save_checkpoint(state: dict[str, Any], directory: Path, step: int, keep: int = 2) -> Path:
    """Write `state` to directory/step_<step>.pt atomically and keep the newest `keep` files."""
    path = Path(directory) / f"step_{step:08d}.pt"
    atomic_write(path, lambda tmp: torch.save(state, tmp))
    for old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint files in `directory`, oldest step first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _CKPT.match(p.name))]
    return [p for _, p in sorted(found)]


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with `weights_only=True`: tensors and plain containers only, so a
    file crafted to run code on unpickling is refused.

    Raises:
        ContrastkitError: the file is unreadable, truncated or holds non-weight objects.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise ContrastkitError(f"cannot load checkpoint {path}: {exc}".splitlines()[0]) from exc


def latest_checkpoint(directory: Path) -> tuple[Path, dict[str, Any]]:
    """The newest checkpoint in `directory` that loads; damaged newer ones are skipped with
    a warning that names them.

    Raises:
        ContrastkitError: no loadable checkpoint exists.
    """
    errors = []
    for path in reversed(list_checkpoints(directory)):
        try:
            state = load_checkpoint(path)
        except ContrastkitError as exc:
            errors.append(str(exc))
            continue
        if errors:
            warnings.warn(
                f"skipped {len(errors)} damaged checkpoint(s): {'; '.join(errors)}", stacklevel=2
            )
        return path, state
    detail = f" ({'; '.join(errors)})" if errors else ""
    raise ContrastkitError(f"no loadable checkpoint in {directory}{detail}")


def save_weights(module: nn.Module, path: Path, metadata: dict[str, str] | None = None) -> None:
    """Export a module's state dict as safetensors (atomic write)."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=metadata))


def load_weights(module: nn.Module, path: Path) -> nn.Module:
    """Load safetensors weights into `module`; mismatched keys are named in the error.

    Raises:
        ContrastkitError: the file is missing or its keys or shapes do not match the module.
    """
    path = Path(path)
    if not path.is_file():
        raise ContrastkitError(f"weights file {path} does not exist")
    return load_matching(module, load_file(str(path)), path)


def load_matching(module: nn.Module, state: dict[str, Any], source: Path | str) -> nn.Module:
    """`module.load_state_dict(state)`, or an error naming the keys that differ.

    Raises:
        ContrastkitError: missing, unexpected or differently shaped keys (the first few of
            each), with `source` named.
    """
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", wrong)):
            if keys:
                parts.append(f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}")
        raise ContrastkitError(
            f"weights in {source} do not match the model architecture ({'; '.join(parts)})"
        )
    module.load_state_dict(state)
    return module
