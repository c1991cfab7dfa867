"""Proxy-anchor metric learning: one learnable proxy per class, trained at a higher rate."""

from __future__ import annotations

import torch
from torch import nn

from contrastkit.losses.proxy_anchor import ProxyAnchorLoss
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    embedding_std,
    encode_views,
    encoder_dim,
    head_dim,
)
from contrastkit.nn.distributed import gather_no_grad, gather_with_grad, require_distributed
from contrastkit.nn.heads import ProjectionHead


class ProxyAnchor(Method):
    """Proxy-anchor loss [1] on every view's embedding; the class proxies are parameters.

    [1] trains the proxies with a learning rate 100 times the network's ("the learning
    rate for proxies is scaled up by 100 for faster convergence", authors' code):
    `lr_scaled_parameters` gives them to the optimiser as groups with `lr_scale`, which
    the schedule multiplies. The number of classes comes from the training labels (the
    largest label + 1).

    Args:
        encoder: backbone with `output_dim`.
        num_classes: C, set from the data by the pipeline.
        alpha: the scale (32 in [1]).
        delta: the margin (0.1 in [1]).
        proxy_lr_scale: the proxies' learning-rate multiplier (100 in [1]).
        gather: score the global batch of every process.

    [1] Kim, Kim, Cho and Kwak, "Proxy Anchor Loss for Deep Metric Learning", CVPR 2020.
    """

    name = "proxy_anchor"
    summary = "proxy-anchor loss (Kim et al. 2020): learnable class proxies, no mining"
    needs_labels = True

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        num_classes: int = 2,
        alpha: float = 32.0,
        delta: float = 0.1,
        proxy_lr_scale: float = 100.0,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        if gather:
            require_distributed()
        if not proxy_lr_scale > 0:
            raise ValueError(f"proxy_lr_scale must be > 0, got {proxy_lr_scale}")
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        out_dim = head_dim(self.head, encoder, proj_dim)
        self.loss_fn = ProxyAnchorLoss(num_classes, out_dim, alpha, delta)
        self.proxy_lr_scale, self.gather = proxy_lr_scale, gather

    def lr_scaled_parameters(self) -> tuple[float, list[nn.Parameter]]:
        """(multiplier, parameters) the optimiser trains at base rate x multiplier."""
        return self.proxy_lr_scale, [self.loss_fn.proxies]

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h = encode_views(self.encoder, batch.views)
        z = encode_views(self.head, h)
        embeddings = torch.cat(z)
        labels = batch.labels.repeat(len(z))  # type: ignore[union-attr]
        if self.gather:
            embeddings = gather_with_grad(embeddings)
            labels = gather_no_grad(labels.contiguous())
        loss = self.loss_fn(embeddings, labels)
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z[0])}
        return Output(loss, metrics, embeddings=(h[0], h[1]))
