"""Backbone weights from a local file: read a state dict, fit it to a model or say why not.

A weights file is a PyTorch state dict (`.pth`, `.pt`, `.bin`, read with
`weights_only=True`, so no pickled code runs) or a `.safetensors` file. Checkpoints that
wrap the state dict (`{"state_dict": ...}`, `{"model": ...}`) and keys prefixed by a
wrapper (`module.` from DistributedDataParallel, `model.` or `encoder.model.` from a
contrastkit run's encoder.safetensors or method.safetensors) are unwrapped. Keys of a
classifier the backbone dropped are ignored; anything else that does not fit is reported
by name, with the shapes on both sides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit.errors import ConfigError

__all__ = ["fit_state_dict", "load_backbone_weights", "read_state_dict"]

_CONTAINERS = ("state_dict", "model", "model_state_dict", "module")
# wrappers: DistributedDataParallel, checkpoint dicts, a contrastkit encoder or method file
_PREFIXES = ("", "module.", "model.", "model.module.", "encoder.", "encoder.model.")
_SHOWN = 3  # keys named per kind of mismatch


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """The tensors of a weights file, unwrapped from a checkpoint container.

    Raises:
        ConfigError: the file is missing, unreadable, or holds no tensors (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config key 'model.weights': there is no file {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # safetensors, pickle and zip errors of many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"config key 'model.weights': {path} is not a readable state dict "
            f"(.pth/.pt or .safetensors): {first}"
        ) from None
    for key in _CONTAINERS:
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    tensors = {k: v for k, v in state.items() if isinstance(v, Tensor)} if isinstance(
        state, Mapping) else {}  # fmt: skip
    if not tensors:
        raise ConfigError(f"config key 'model.weights': {path} holds no tensors")
    return tensors


def _strip_prefix(state: dict[str, Tensor], own: Iterable[str]) -> dict[str, Tensor]:
    """`state` with the wrapper prefix removed that makes most of its keys the model's."""
    own = set(own)

    def hits(prefix: str) -> int:
        return sum(k.startswith(prefix) and k[len(prefix) :] in own for k in state)

    best = max(_PREFIXES, key=hits)
    return {k[len(best) :]: v for k, v in state.items() if k.startswith(best)} if best else state


def _shape(t: Tensor) -> str:
    return "x".join(map(str, t.shape)) or "scalar"


def fit_state_dict(
    model: nn.Module, state: dict[str, Tensor], *, ignore: Iterable[str] = ()
) -> tuple[dict[str, Tensor], str | None]:
    """Match a state dict to `model`: (the tensors to load, None) or (_, what does not fit).

    Args:
        model: the module the weights are for.
        state: name -> tensor, possibly with a wrapper prefix.
        ignore: key prefixes of layers the model dropped (its classifier); such keys in
            `state` are left out silently.

    Returns:
        The state restricted to the model's keys, and None when every key of the model is
        there with its shape; otherwise a sentence naming the keys with other shapes, those
        missing from `state` and those the model has not.
    """
    own = model.state_dict()
    state = _strip_prefix(state, own)
    dropped = tuple(ignore)
    state = {k: v for k, v in state.items() if not (dropped and k.startswith(dropped))}
    wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [f"{k} is {_shape(state[k])} in the file, {_shape(own[k])} in the model"
              for k in wrong]  # fmt: skip
    kinds = (("with other shapes", shapes), ("missing from the file", missing),
             ("not in the model", extra))  # fmt: skip
    parts = [
        f"{len(keys)} {label} ({', '.join(keys[:_SHOWN])}{', ...' if len(keys) > _SHOWN else ''})"
        for label, keys in kinds
        if keys
    ]
    return {k: v for k, v in state.items() if k in own}, "; ".join(parts) or None


def load_backbone_weights(
    model: nn.Module, path: str | Path, *, backbone: str, ignore: Iterable[str] = (), filter_fn=None
) -> nn.Module:
    """Load the weights file at `path` into `model` (strictly, after `fit_state_dict`).

    Args:
        model: the backbone (its classifier already removed).
        path: a `.pth`/`.pt`/`.safetensors` state dict.
        backbone: the `model.backbone` value, for the error message.
        ignore: key prefixes of the removed classifier.
        filter_fn (Callable | None): `(state, model) -> state` applied first (timm's
            checkpoint converters, which also resample position and patch embeddings to
            the model's size).

    Raises:
        ConfigError: the file is missing or unreadable, or its tensors do not fit (names
            the mismatching keys and their shapes).
    """
    state = read_state_dict(path)
    if filter_fn is not None:  # a converter that fails on this layout: compare as is
        with contextlib.suppress(Exception):
            state = filter_fn(_strip_prefix(state, model.state_dict()), model)
    fitted, problem = fit_state_dict(model, state, ignore=ignore)
    if problem is not None:
        raise ConfigError(
            f"config key 'model.weights': the tensors in {path} do not fit {backbone}: {problem}"
        )
    model.load_state_dict(fitted)
    return model
