"""The `method` config section: each method's keyword arguments, validated before training."""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any

from pydantic import ConfigDict, ValidationError, create_model
from torch import Tensor, nn

from contrastkit.errors import ConfigError
from contrastkit.methods.base import encoder_dim
from contrastkit.methods.matryoshka import with_matryoshka
from contrastkit.methods.registry import METHODS

# Keys every method with a separate objective takes: Matryoshka training (`with_matryoshka`).
MATRYOSHKA_KEYS: dict[str, tuple[Any, Any]] = {
    "matryoshka_dims": (list[int] | None, None),
    "matryoshka_weights": (list[float] | None, None),
}
# Constructor arguments that come from elsewhere (the model section, the launcher).
NOT_CONFIGURABLE = frozenset(
    {
        "self",
        "encoder",
        "head",
        "gather",
        "proj_hidden_dim",
        "proj_dim",
        "text_encoder",
        "num_classes",
    }
)


class _ProbeEncoder(nn.Module):
    """A stand-in encoder to construct a method once for validating its arguments."""

    output_dim = 8

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1)[:, : self.output_dim]


def method_params(name: str) -> dict[str, tuple[Any, Any]]:
    """{argument: (type, default)} of the configurable arguments of method `name`."""
    cls = _method_class(name)
    hints = typing.get_type_hints(cls.__init__)
    params = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in NOT_CONFIGURABLE or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        params[p.name] = (hints.get(p.name, Any), p.default)
    if cls.supports_grad_cache():
        params.update(MATRYOSHKA_KEYS)
    return params


def validate_method_params(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Type-check `values` against method `name`'s arguments, then construct the method
    once on a probe encoder so its own range checks run; return every argument with
    defaults filled in.

    Raises:
        ConfigError: unknown method, unknown key, wrong type or a value the method rejects;
            the message names the key as `method.<argument>`.
    """
    params = method_params(name)
    model = create_model(  # type: ignore[call-overload]
        f"{name}_params", __config__=ConfigDict(extra="forbid"), **params
    )
    try:
        validated = model.model_validate(values).model_dump()
    except ValidationError as exc:
        raise ConfigError(_describe(name, exc, list(params))) from None
    try:
        probe = {"text_encoder": _ProbeEncoder()} if "text_encoder" in _signature(name) else {}
        construct(name, _ProbeEncoder(), validated, proj_hidden_dim=8, proj_dim=8, **probe)
    except (ValueError, TypeError) as exc:
        key = _mentioned_key(str(exc), list(params))
        raise ConfigError(f"config key 'method.{key}': {exc}") from None
    return validated


def check_method_settings(name: str, params: dict[str, Any], batch_size: int) -> None:
    """Check method `name`'s validated arguments against the run's global batch size.

    Raises:
        ConfigError: an argument that cannot work with this batch size (NNCLR's
            queue_size below it), named as `method.<argument>`.
    """
    try:
        _method_class(name).check_settings(params, batch_size)
    except ValueError as exc:
        key = _mentioned_key(str(exc), list(params))
        raise ConfigError(f"config key 'method.{key}': {exc}") from None


def _signature(name: str) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(_method_class(name).__init__).parameters)


def construct(
    name: str,
    encoder: nn.Module,
    params: dict[str, Any],
    *,
    proj_hidden_dim: int = 2048,
    proj_dim: int = 128,
    gather: bool = False,
    **extra: Any,
) -> Any:
    """Method `name` around `encoder` with its config arguments `params`.

    The model section's head sizes, `gather` and `extra` arguments (a second tower) are
    passed to the methods whose constructor takes them; `proj_dim=0` replaces the
    projection head of the methods that take a `head` by the identity;
    `matryoshka_dims` (and `matryoshka_weights`) train it with `with_matryoshka`.
    """
    signature = _signature(name)
    kwargs = {k: v for k, v in params.items() if k not in MATRYOSHKA_KEYS}
    dims, weights = params.get("matryoshka_dims"), params.get("matryoshka_weights")
    if weights is not None and dims is None:
        raise ValueError("matryoshka_weights needs matryoshka_dims (the sizes they weigh)")
    if "proj_dim" in signature:
        kwargs.update(proj_hidden_dim=proj_hidden_dim, proj_dim=max(proj_dim, 1))
    if proj_dim == 0:
        if "head" not in signature:
            raise ValueError(f"method {name!r} needs a head: model.proj_dim must be >= 1")
        kwargs["head"] = nn.Identity()
        kwargs["head"].output_dim = encoder_dim(encoder)  # heads after it are sized by this
    if gather and "gather" not in signature:
        raise ValueError(f"method {name!r} does not gather across processes (gather=True)")
    if "gather" in signature:
        kwargs["gather"] = gather
    kwargs.update({k: v for k, v in extra.items() if k in signature})
    method = METHODS[name](encoder, **kwargs)
    return method if dims is None else with_matryoshka(method, dims, weights)


def _method_class(name: str) -> type:
    if name not in METHODS:
        raise ConfigError(
            f"config key 'method.name': unknown method {name!r}; choose one of "
            f"{', '.join(sorted(METHODS))}"
        )
    return METHODS[name]


def _describe(name: str, exc: ValidationError, known: list[str]) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(
                f"unknown config key 'method.{key}' for method {name!r}; its keys are: name, "
                f"{', '.join(known)}"
            )
        else:
            lines.append(f"config key 'method.{key}': {err['msg']} (got {err.get('input')!r})")
    return "; ".join(lines)


def _mentioned_key(message: str, keys: list[str]) -> str:
    """The key a method's error message names first (errors start with the wrong value)."""
    found = [
        (m.start(), key) for key in keys if (m := re.search(rf"\b{re.escape(key)}\b", message))
    ]
    return min(found)[1] if found else "name"
