"""Evaluation of a Matryoshka run at each nested size: its embeddings cut to the first m
features, scored as the full ones are."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from contrastkit.config import Config
from contrastkit.modalities.base import Modality, Prepared

__all__ = ["first_features", "nested_scores"]

EXTRA_METRICS = ("spearman",)  # scored text pairs: reported at each size as well


@contextmanager
def first_features(modules: Sequence[torch.nn.Module], m: int) -> Iterator[None]:
    """Inside the block, every module of `modules` returns only the first `m` features of
    its (..., D) output (forward hooks) and an `output_dim` attribute, where it has one,
    says m (so callers that size their buffers by it, `TextEncoder.encode`, agree); both
    are undone on exit."""

    def cut(_module: torch.nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        return output[..., :m]

    sized = [
        (mod, mod.output_dim)
        for mod in modules
        if isinstance(getattr(mod, "output_dim", None), int)
    ]
    handles = [module.register_forward_hook(cut) for module in modules]
    try:
        for module, _ in sized:
            module.output_dim = m
        yield
    finally:
        for handle in handles:
            handle.remove()
        for module, dim in sized:
            module.output_dim = dim


def nested_scores(
    modality: Modality, model: Any, cfg: Config, data: Prepared, dims: Sequence[int]
) -> list[dict[str, Any]]:
    """The modality's main metric (and a scored-pair Spearman) of `model` at each nested
    size in `dims`: [{"dim", "metric", "value"}], smallest size first. The cut embeddings
    are compared by cosine (kNN, retrieval, Spearman), so they need no new normalisation;
    the linear probe runs only where it is the main metric."""
    cfg = cfg.model_copy(deep=True)
    cfg.eval.linear = modality.main_metric.startswith("linear")
    cfg.eval.retrieval = False  # MAP@R is not kept per size: not computed
    metrics = (modality.main_metric, *EXTRA_METRICS)
    rows = []
    for m in sorted(dims):
        with first_features(modality.nested_modules(model), m):
            scores = modality.score(model, cfg, data)
        rows += [{"dim": m, "metric": k, "value": scores[k]} for k in metrics if k in scores]
    return rows
