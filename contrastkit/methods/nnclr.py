"""NNCLR: the positive of each view is its nearest neighbour in a support set of past
projections."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.losses.nnclr import nnclr_loss
from contrastkit.methods.base import Batch, Method, Output, embedding_std, encode_views, encoder_dim
from contrastkit.nn.distributed import gather_no_grad, require_distributed, world_size
from contrastkit.nn.heads import ProjectionHead
from contrastkit.nn.queue import FeatureQueue


class NNCLR(Method):
    """NNCLR [1], algorithm 1.

    z1, z2 = projector(encoder(x1, x2)); p1, p2 = predictor(z1, z2); NN1, NN2 = the top-1
    cosine neighbours of z1, z2 in the support set Q (no gradient);
    loss = L(NN1, p2) / 2 + L(NN2, p1) / 2 with L InfoNCE at temperature tau (the other
    rows of p are the negatives; `contrastkit.losses.nnclr_loss`). After the optimiser
    step (`on_step_end`) the normalised z1 of the batch (of every process with `gather`)
    enter Q, first in first out. Before anything is queued (the first step) each
    projection is its own neighbour; afterwards only the rows written so far are searched.
    A step the trainer skips (non-finite) queues nothing. Q is a buffer, so checkpoints
    hold it and a resumed run searches the same support set.

    Args:
        encoder: backbone with `output_dim`.
        head: projector; default a 3-layer MLP with BatchNorm on every layer, the output
            included ("implementation details" of [1]).
        temperature: tau (0.1 in [1]).
        queue_size: rows of the support set; at least the global batch size (98,304 for
            ImageNet in [1]; 8192 suits Fashion-MNIST's 60,000 images).
        pred_hidden_dim: hidden width of the 2-layer predictor; default proj_hidden_dim
            ([1]: 4096 for a 2048-wide projector).
        gather: predictions of every process as negatives and every process's z1 into the
            support set (needs torch.distributed).
        proj_hidden_dim: hidden width of the projector (2048 in [1]).
        proj_dim: output size of projector and predictor (256 in [1]).

    [1] Dwibedi, Aytar, Tompson, Sermanet and Zisserman, "With a Little Help from My
        Friends: Nearest-Neighbor Contrastive Learning of Visual Representations",
        ICCV 2021.
    """

    name = "nnclr"
    summary = "NNCLR: nearest neighbour in a support-set queue as the positive, InfoNCE"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        temperature: float = 0.1,
        queue_size: int = 8192,
        pred_hidden_dim: int | None = None,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 256,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if pred_hidden_dim is not None and pred_hidden_dim < 1:
            raise ValueError(f"pred_hidden_dim must be >= 1 or None, got {pred_hidden_dim}")
        if gather:
            require_distributed()
        self.head = head or ProjectionHead(
            encoder_dim(encoder), proj_hidden_dim, proj_dim, num_layers=3, batch_norm_last=True
        )
        out = getattr(self.head, "output_dim", proj_dim)
        self.predictor = ProjectionHead(out, pred_hidden_dim or proj_hidden_dim, out)
        self.support = FeatureQueue(queue_size, out, normalize_init=False)
        self.temperature, self.gather = temperature, gather
        self.pending: Tensor | None = None  # this step's z1, queued in on_step_end

    @staticmethod
    def check_settings(params: dict[str, Any], batch_size: int) -> None:
        """The support set takes a whole global batch of z1 per step."""
        if params["queue_size"] < batch_size:
            raise ValueError(
                f"queue_size must be at least the batch size {batch_size} (one view of each "
                f"global batch is queued per step), got {params['queue_size']}"
            )

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h1, h2 = encode_views(self.encoder, batch.views[:2])
        z1, z2 = encode_views(self.head, [h1, h2])
        p1, p2 = encode_views(self.predictor, [z1, z2])
        rows = z1.shape[0] * (world_size() if self.gather else 1)
        if rows > self.support.size:
            self.check_settings({"queue_size": self.support.size}, rows)
        support = self.support.features()  # not written before backward: see on_step_end
        loss = nnclr_loss(z1, z2, p_a=p1, p_b=p2, support=support,
                          temperature=self.temperature, gather=self.gather)  # fmt: skip
        queued = F.normalize(z1.detach().float(), dim=1)
        self.pending = gather_no_grad(queued) if self.gather else queued
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z1)}
        return Output(loss, metrics, embeddings=(h1, h2))

    def on_step_end(self, progress: float) -> None:
        if self.pending is not None:  # after backward, which reads the support set
            self.support.push(self.pending)
            self.pending = None
