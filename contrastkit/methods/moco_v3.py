"""MoCo v3: momentum encoder, predictor, symmetric in-batch InfoNCE, no queue."""

from __future__ import annotations

import torch
from torch import nn

from contrastkit.losses.info_nce import check_temperature, info_nce
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    embedding_std,
    encode_views,
    encoder_dim,
)
from contrastkit.nn.distributed import require_distributed
from contrastkit.nn.heads import ProjectionHead
from contrastkit.nn.momentum import cosine_momentum, ema_update, momentum_copy


class MoCoV3(Method):
    """MoCo v3 [1], algorithm 1.

    q1, q2 = predictor(projector(encoder(x1, x2))); k1, k2 from the momentum encoder and
    projector (no gradient); loss = ctr(q1, k2) + ctr(q2, k1) with
    ctr(q, k) = 2 tau * CrossEntropy(q k^T / tau, identity): the keys of the batch (of every
    process with `gather`) are the negatives. The momentum follows a cosine schedule from
    `momentum` to 1.

    Args:
        encoder: backbone with `output_dim`.
        temperature: tau (1.0 for ResNets, 0.2 for ViTs in [1]).
        momentum: starting momentum m (0.99 in [1]), raised to 1 by a cosine schedule.
        gather: use the keys of every process as negatives (needs torch.distributed).
        proj_hidden_dim: hidden width of the projector (a 3-layer MLP) and the predictor (a
            2-layer MLP), each Linear followed by BatchNorm (no affine BN on the
            projector's output), as in [1].
        proj_dim: their output size.

    [1] Chen, Xie and He, "An Empirical Study of Training Self-Supervised Vision
        Transformers", ICCV 2021.
    """

    name = "mocov3"
    summary = "MoCo v3: momentum encoder, predictor, symmetric in-batch InfoNCE, no queue"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        temperature: float = 0.2,
        momentum: float = 0.99,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if gather:
            require_distributed()
        dim = encoder_dim(encoder)
        self.head = head or ProjectionHead(
            dim, proj_hidden_dim, proj_dim, num_layers=3, batch_norm_last=True
        )
        out = getattr(self.head, "output_dim", proj_dim)
        self.predictor = ProjectionHead(out, proj_hidden_dim, out, num_layers=2)
        self.key_encoder = momentum_copy(self.encoder)
        self.key_head = momentum_copy(self.head)
        self.temperature, self.base_momentum, self.gather = temperature, momentum, gather
        self.momentum = momentum

    def _ctr(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        loss = info_nce(q, k, temperature=self.temperature, gather=self.gather)
        return 2 * self.temperature * loss

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h1, h2 = encode_views(self.encoder, batch.views[:2])
        q1, q2 = encode_views(lambda h: self.predictor(self.head(h)), [h1, h2])
        with torch.no_grad():
            keys = encode_views(self.key_encoder, batch.views[:2])
            k1, k2 = encode_views(self.key_head, keys)
        loss = self._ctr(q1, k2) + self._ctr(q2, k1)
        metrics = {
            "loss": float(loss.detach()),
            "z_std": embedding_std(q1),
            "momentum": self.momentum,
        }
        return Output(loss, metrics, embeddings=(h1, h2))

    def on_step_end(self, progress: float) -> None:
        self.momentum = cosine_momentum(progress, self.base_momentum)
        ema_update(self.key_encoder, self.encoder, self.momentum)
        ema_update(self.key_head, self.head, self.momentum)
