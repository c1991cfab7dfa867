"""Gradient caching (Gao et al., 2021): a large contrastive batch in bounded memory.

1. Encode the batch chunk by chunk without a graph, keeping each chunk's random state.
2. Compute the loss on all loss inputs z at once and back-propagate it to z only.
3. Re-encode each chunk with a graph, under the random state it had in step 1 (so dropout
   masks repeat), and back-propagate the cached gradient of its z.

Memory is that of one chunk's graph plus the (B, D) loss inputs; the time is about one
extra forward pass. Gradients equal those of one uncached step that encodes the batch in
the same chunks (exactly the same step for networks without batch statistics: with
BatchNorm, statistics are per chunk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from contrastkit.errors import ConfigError
from contrastkit.methods.base import Batch, Method, Output, embedding_std


def check_grad_cache(
    method_cls: type[Method],
    chunk: int | None,
    precision: str = "auto",
    key: str = "grad_cache_chunk",
) -> None:
    """Reject gradient caching that cannot work, before any training: a chunk below 1, a
    method whose loss is not a function of per-item embeddings, or fp16 (no loss scaling).

    Raises:
        ConfigError: naming `key` (the setting the user gave).
    """
    if chunk is None:
        return
    if chunk < 1:
        raise ConfigError(f"{key} must be >= 1, got {chunk}")
    if not method_cls.supports_grad_cache():
        from contrastkit.methods import METHODS

        able = [n for n, c in METHODS.items() if c.supports_grad_cache()]
        raise ConfigError(
            f"{key}: {method_cls.__name__} cannot use gradient caching (its loss is not a "
            f"function of per-item embeddings alone); these can: {', '.join(able)}"
        )
    if precision == "fp16":
        raise ConfigError(f"{key}: gradient caching supports fp32 and bf16, not fp16")


def _take(views: Sequence[Any], rows: slice) -> list[Any]:
    """Rows of every view: tensors (B, ...) or dicts of token tensors (B, L)."""
    return [
        {k: t[rows] for k, t in v.items()} if isinstance(v, Mapping) else v[rows] for v in views
    ]


def _batch_size(views: Sequence[Any]) -> int:
    first = views[0]
    return next(iter(first.values())).shape[0] if isinstance(first, Mapping) else first.shape[0]


class _RandomState:
    """The CPU (and current CUDA device's) generator state, to replay a forward pass."""

    def __init__(self) -> None:
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state() if torch.cuda.is_initialized() else None

    def replay(self):
        devices = [torch.cuda.current_device()] if self.cuda is not None else []
        context = torch.random.fork_rng(devices=devices)
        context.__enter__()
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda)
        return context


def cached_step(method: Method, batch: Batch, chunk_size: int) -> Output:
    """One training step's loss and gradients with gradient caching.

    Args:
        method: a method with `represent` and `objective` (see `Method.supports_grad_cache`).
        batch: the whole (large) batch.
        chunk_size: items encoded per pass, >= 1.

    Returns:
        Output with the detached loss, metrics, the encoder outputs of two views (for the
        collapse monitor) and backward_done=True: the parameters' .grad hold the gradient.
    """
    check_grad_cache(type(method), chunk_size, key="chunk_size")
    method.check_batch(batch)
    n = _batch_size(batch.views)
    chunks = [slice(s, min(s + chunk_size, n)) for s in range(0, n, chunk_size)]

    states, hs, zs = [], [], []
    with torch.no_grad():
        for rows in chunks:
            states.append(_RandomState())
            h, z = method.represent(_take(batch.views, rows))
            hs.append([x.detach() for x in h[:2]])
            zs.append([x.detach() for x in z])

    z_all = [torch.cat([z[v] for z in zs]).requires_grad_(True) for v in range(len(zs[0]))]
    loss = method.objective(z_all, batch)
    with torch.autocast(z_all[0].device.type, enabled=False):
        loss.backward()  # gradients for z (and any parameter of the objective itself)
    grads = [z.grad for z in z_all]

    for rows, state in zip(chunks, states, strict=True):
        context = state.replay()
        try:
            _, z = method.represent(_take(batch.views, rows))
        finally:
            context.__exit__(None, None, None)
        pairs = [(out, g[rows]) for out, g in zip(z, grads, strict=True) if g is not None]
        with torch.autocast(z[0].device.type, enabled=False):
            torch.autograd.backward([o for o, _ in pairs], [g.to(o.dtype) for o, g in pairs])

    h0, h1 = (torch.cat([h[v] for h in hs]) for v in range(2))
    metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z_all[0].detach())}
    return Output(loss.detach(), metrics, embeddings=(h0, h1), backward_done=True)


def plain_chunked_loss(method: Method, batch: Batch, chunk_size: int) -> Tensor:
    """The reference for `cached_step`: encode chunk by chunk *with* a graph, then the
    loss on the concatenation (memory grows with the batch). For tests and measurements."""
    n = _batch_size(batch.views)
    parts = [method.represent(_take(batch.views, slice(s, s + chunk_size)))[1]
             for s in range(0, n, chunk_size)]  # fmt: skip
    z_all = [torch.cat([p[v] for p in parts]) for v in range(len(parts[0]))]
    return method.objective(z_all, batch)
