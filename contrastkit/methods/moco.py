"""MoCo v2: a momentum key encoder and a queue of past keys as negatives."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature, queue_info_nce
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    embedding_std,
    encode_views,
    encoder_dim,
)
from contrastkit.nn.distributed import (
    gather_no_grad,
    is_distributed,
    require_distributed,
    shuffle_across_processes,
    unshuffle_across_processes,
)
from contrastkit.nn.heads import ProjectionHead
from contrastkit.nn.momentum import ema_update, momentum_copy
from contrastkit.nn.queue import FeatureQueue


class MoCo(Method):
    """MoCo v2 [1, 2].

    Per step (algorithm 1 of [1]): queries q = head(encoder(x_q)); keys k from the momentum
    copies of encoder and head, without gradient (with shuffling BN across processes when
    distributed); loss = InfoNCE of q against its key (positive) and the queue (negatives);
    then, once the optimiser has updated the query networks (`on_step_end`), the keys are
    enqueued (from every process) and the key networks follow the query networks:
    theta_k <- m theta_k + (1 - m) theta_q. A step the trainer skips (non-finite) enqueues
    nothing. The queue is a buffer, so checkpoints hold it and a resumed run continues
    with the same negatives.

    Args:
        encoder: backbone with `output_dim`.
        head: projection head; default the MoCo v2 MLP `ProjectionHead(dim, hidden, proj_dim)`.
        temperature: tau (0.2 in MoCo v2).
        queue_size: negatives kept (65536 for ImageNet in [1]; a few thousand suit small
            datasets and short runs).
        momentum: m of the key encoder update (0.999 in [1]; 0.99 for short runs).
        symmetric: also use x_k as query and x_q as key and average the two losses (the
            symmetrised loss of MoCo v3 [3], which learns faster per step); the keys of both
            views are enqueued. False gives the paper's asymmetric loss.
        shuffle_bn: shuffle the key batch across processes for BatchNorm (sec. 3.3 of [1]);
            only acts when torch.distributed runs more than one process.
        gather: enqueue the keys of every process (needs torch.distributed).
        proj_hidden_dim: hidden width of the default head.
        proj_dim: output size of the default head.

    [1] He et al., "Momentum Contrast for Unsupervised Visual Representation Learning",
        CVPR 2020.
    [2] Chen et al., "Improved Baselines with Momentum Contrastive Learning", 2020.
    [3] Chen, Xie and He, "An Empirical Study of Training Self-Supervised Vision
        Transformers", ICCV 2021.
    """

    name = "moco"
    summary = "MoCo v2: momentum key encoder, queue of negatives, InfoNCE"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        temperature: float = 0.2,
        queue_size: int = 4096,
        momentum: float = 0.99,
        symmetric: bool = True,
        shuffle_bn: bool = True,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if gather:
            require_distributed()
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        self.key_encoder = momentum_copy(self.encoder)
        self.key_head = momentum_copy(self.head)
        out_dim = getattr(self.head, "output_dim", proj_dim)
        self.queue = FeatureQueue(queue_size, out_dim)
        self.temperature, self.momentum = temperature, momentum
        self.symmetric, self.shuffle_bn, self.gather = symmetric, shuffle_bn, gather
        self.pending_keys: Tensor | None = None  # this step's keys, enqueued in on_step_end

    @torch.no_grad()
    def _keys(self, x: Tensor) -> Tensor:
        shuffle = self.shuffle_bn and is_distributed() and isinstance(x, Tensor)
        if shuffle:
            x, order = shuffle_across_processes(x)
        k = self.key_head(self.key_encoder(x))
        if shuffle:
            k = unshuffle_across_processes(k, order)
        return nn.functional.normalize(k.float(), dim=1)

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        x_q, x_k = batch.views[0], batch.views[1]
        if self.symmetric:
            h1, h2 = encode_views(self.encoder, [x_q, x_k])
            q1, q2 = encode_views(self.head, [h1, h2])
            k1, k2 = self._keys(x_q), self._keys(x_k)
            negatives = self.queue.rows  # not written before backward: see on_step_end
            loss = (
                queue_info_nce(q1, k2, negatives, temperature=self.temperature)
                + queue_info_nce(q2, k1, negatives, temperature=self.temperature)
            ) / 2
            new_keys = torch.cat([k1, k2])
        else:
            h1 = self.encoder(x_q)
            q1 = self.head(h1)
            k2 = self._keys(x_k)
            loss = queue_info_nce(q1, k2, self.queue.rows, temperature=self.temperature)
            new_keys = k2
            with torch.no_grad():
                h2 = self.key_encoder(x_k)
        self.pending_keys = gather_no_grad(new_keys) if self.gather else new_keys
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(q1)}
        return Output(loss, metrics, embeddings=(h1, h2))

    def on_step_end(self, progress: float) -> None:
        if self.pending_keys is not None:  # after backward, which reads the queue
            self.queue.push(self.pending_keys)
            self.pending_keys = None
        ema_update(self.key_encoder, self.encoder, self.momentum)
        ema_update(self.key_head, self.head, self.momentum)
