"""SimSiam: a siamese network with a predictor and a stop-gradient, no momentum, no negatives."""

from __future__ import annotations

from torch import nn

from contrastkit.losses.negative_cosine import negative_cosine
from contrastkit.methods.base import (
    Batch,
    Method,
    Output,
    embedding_std,
    encode_views,
    encoder_dim,
)
from contrastkit.nn.heads import ProjectionHead


class SimSiam(Method):
    """SimSiam [1], algorithm 1.

    z1, z2 = projector(encoder(x1, x2)); p1, p2 = predictor(z1, z2);
    loss = D(p1, stopgrad(z2)) / 2 + D(p2, stopgrad(z1)) / 2 with D the negative cosine.
    The stop-gradient is what prevents collapse (sec. 4 of [1]).

    Args:
        encoder: backbone with `output_dim`.
        proj_hidden_dim: hidden width of the projector, a 3-layer MLP with BatchNorm on every
            layer including the output (2048 in [1]).
        proj_dim: the projector's output size (2048 in [1]); the predictor is a 2-layer
            bottleneck MLP proj_dim -> pred_hidden_dim -> proj_dim (512 in [1]).
        pred_hidden_dim: the predictor's bottleneck; default proj_dim // 4.
        fix_predictor_lr: keep the predictor at the base learning rate while the schedule
            decays the rest (the paper's recipe: "fixed lr for the predictor").

    [1] Chen and He, "Exploring Simple Siamese Representation Learning", CVPR 2021.
    """

    name = "simsiam"
    summary = "SimSiam: predictor + stop-gradient on a siamese network, no negatives"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        pred_hidden_dim: int | None = None,
        gather: bool = False,
        fix_predictor_lr: bool = True,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 2048,
    ) -> None:
        super().__init__(encoder)
        self.head = head or ProjectionHead(
            encoder_dim(encoder), proj_hidden_dim, proj_dim, num_layers=3, batch_norm_last=True
        )
        out = getattr(self.head, "output_dim", proj_dim)
        hidden = pred_hidden_dim or max(out // 4, 1)
        self.predictor = ProjectionHead(out, hidden, out)
        self.gather = gather  # the loss is per item: nothing to gather
        self.fix_predictor_lr = fix_predictor_lr

    def fixed_lr_parameters(self) -> list[nn.Parameter]:
        return list(self.predictor.parameters()) if self.fix_predictor_lr else []

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h1, h2 = encode_views(self.encoder, batch.views[:2])
        z1, z2 = encode_views(self.head, [h1, h2])
        p1, p2 = encode_views(self.predictor, [z1, z2])
        loss = negative_cosine(p1, z2) / 2 + negative_cosine(p2, z1) / 2
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(z1)}
        return Output(loss, metrics, embeddings=(h1, h2))
