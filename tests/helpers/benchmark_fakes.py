"""Stand-ins for testing a benchmark's main without data or training."""

from __future__ import annotations

from collections.abc import Callable

from contrastkit.errors import ContrastkitError


class NoImageData:
    """An ImageModality that prepares nothing and resolves a config as it is."""

    def prepare(self, cfg, given):
        return None

    def resolve(self, cfg, data):
        return cfg


def refused_train() -> tuple[list[dict], Callable]:
    """A `train` that records its keyword arguments and fails like a bad run, so the main
    reaches its training call and goes on: (calls, fake)."""
    calls: list[dict] = []

    def fake(*args, **kwargs):
        calls.append(kwargs)
        raise ContrastkitError("stop here")

    return calls, fake
