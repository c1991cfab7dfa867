"""Online kNN monitor: how well the current encoder's features classify held-out items."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from contrastkit.evaluate.features import extract_features
from contrastkit.evaluate.knn import knn_accuracy


class KnnMonitor:
    """Weighted kNN accuracy of held-out queries against a labelled bank, both embedded with
    the method's current encoder in eval mode.

    Args:
        bank_images: (N, C, H, W) uint8 labelled reference images.
        bank_labels: (N,) int64.
        query_images: (M, C, H, W) uint8 held-out images (not in the bank).
        query_labels: (M,) int64.
        preprocess: deterministic (B, C, H, W) -> float transform (resize, normalise).
        k, temperature: kNN protocol (Wu et al. 2018).
        batch_size: embedding batch size.
    """

    def __init__(
        self,
        bank_images: Tensor,
        bank_labels: Tensor,
        query_images: Tensor,
        query_labels: Tensor,
        preprocess: Callable[[Tensor], Tensor],
        k: int = 200,
        temperature: float = 0.1,
        batch_size: int = 1024,
    ) -> None:
        if len(bank_images) == 0 or len(query_images) == 0:
            raise ValueError("KnnMonitor needs a non-empty bank and query set")
        self.bank_images, self.bank_labels = bank_images, bank_labels
        self.query_images, self.query_labels = query_images, query_labels
        self.preprocess = preprocess
        self.k, self.temperature, self.batch_size = k, temperature, batch_size

    def __call__(
        self,
        embed: Callable[[Tensor], Tensor],
        device: torch.device | str = "cpu",
        autocast_dtype: torch.dtype | None = None,
        channels_last: bool = False,
    ) -> float:
        """kNN top-1 accuracy in [0, 1] of `embed` features (called under inference mode)."""

        def fn(x: Tensor) -> Tensor:
            x = self.preprocess(x)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            return embed(x)

        kwargs = dict(batch_size=self.batch_size, device=device, autocast_dtype=autocast_dtype)
        bank = extract_features(fn, self.bank_images, **kwargs)
        queries = extract_features(fn, self.query_images, **kwargs)
        return knn_accuracy(
            bank,
            self.bank_labels,
            queries,
            self.query_labels,
            k=self.k,
            temperature=self.temperature,
        )
