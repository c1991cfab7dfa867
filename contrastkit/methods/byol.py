"""BYOL: an online network with a predictor regresses a slowly moving target network."""

from __future__ import annotations

import torch
from torch import nn

from contrastkit.losses.negative_cosine import byol_loss
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    embedding_std,
    encode_views,
    encoder_dim,
)
from contrastkit.nn.heads import ProjectionHead
from contrastkit.nn.momentum import cosine_momentum, ema_update, momentum_copy


class BYOL(Method):
    """BYOL [1].

    Online: y = encoder(x), z = projector(y), p = predictor(z). Target: the EMA copies of
    encoder and projector give z' without gradient. The loss is symmetric over the two
    views: 2 - 2 cos(p1, z'2) + 2 - 2 cos(p2, z'1) (eq. 2 of [1], averaged over the batch).
    After each step the target follows the online network with a momentum raised from
    `momentum` to 1 on a cosine schedule (sec. 3.2 of [1]). No negatives: the predictor
    and the moving target prevent collapse.

    Args:
        encoder: backbone with `output_dim`.
        momentum: base tau (0.996 in [1]; 0.99 suits short runs).
        proj_hidden_dim: hidden width of the projector and the predictor, 2-layer MLPs
            (Linear-BN-ReLU-Linear); 4096 in [1].
        proj_dim: their output size (256 in [1]).

    [1] Grill et al., "Bootstrap Your Own Latent: A New Approach to Self-Supervised
        Learning", NeurIPS 2020.
    """

    name = "byol"
    summary = "BYOL: online network + predictor regresses an EMA target, no negatives"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        momentum: float = 0.99,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        out = getattr(self.head, "output_dim", proj_dim)
        self.predictor = ProjectionHead(out, proj_hidden_dim, out)
        self.target_encoder = momentum_copy(self.encoder)
        self.target_head = momentum_copy(self.head)
        self.base_momentum = self.momentum = momentum
        self.gather = gather  # BYOL's loss is per item: nothing to gather

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h1, h2 = encode_views(self.encoder, batch.views[:2])
        z1, z2 = encode_views(self.head, [h1, h2])
        p1, p2 = encode_views(self.predictor, [z1, z2])
        with torch.no_grad():
            target = encode_views(self.target_encoder, batch.views[:2])
            t1, t2 = encode_views(self.target_head, target)
        loss = byol_loss(p1, t2) + byol_loss(p2, t1)
        metrics = {
            "loss": float(loss.detach()),
            "z_std": embedding_std(torch.cat([z1, z2])),
            "momentum": self.momentum,
        }
        return Output(loss, metrics, embeddings=(h1, h2))

    def on_step_end(self, progress: float) -> None:
        self.momentum = cosine_momentum(progress, self.base_momentum)
        ema_update(self.target_encoder, self.encoder, self.momentum)
        ema_update(self.target_head, self.head, self.momentum)
