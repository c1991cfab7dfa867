"""SigLIP: CLIP's two towers trained with the pairwise sigmoid loss."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from contrastkit.losses.siglip import siglip_loss
from contrastkit.methods.base import Batch, Output
from contrastkit.methods.clip import CLIP

__all__ = ["SigLIP"]


class SigLIP(CLIP):
    """SigLIP [1]: CLIP's towers and projections, the sigmoid loss instead of the softmax.

    "The learnable temperature t' = log t is initialized to log 10 and the bias b to -10,
    which ensures the training starts roughly close to the prior and does not require
    massive over-correction" ([1], sec. 3.2, algorithm 1); both are trained, the logit
    scale is t = exp(t') and is not clipped. Gathered across processes the texts meet the
    images one process-sized block at a time (`contrastkit.losses.siglip_loss`).

    Everything else is CLIP's (`contrastkit.methods.CLIP`): the image tower is `encoder`,
    `lock_text` freezes a pre-trained text tower (SigLiT), `embed_image` / `embed_text`
    give the shared-space embeddings.

    Args:
        encoder: image tower with `output_dim`.
        text_encoder: text tower with `output_dim`.
        embed_dim: size of the shared space.
        logit_scale: initial t = exp(t') (10 in [1]).
        logit_bias: initial b (-10 in [1]).
        learn_temperature: train t'; False keeps it fixed (the bias is always trained).
        lock_text: freeze the text tower; its outputs are memoised.
        gather: compare against the other processes' texts too (torch.distributed).

    Example:
        >>> method = SigLIP(CompactCNN(in_channels=3), text_encoder=text_tower)
        >>> out = method.training_step(Batch(views=[images, tokens]))

    [1] Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023.
    """

    name = "siglip"
    summary = "image and text towers, pairwise sigmoid loss, learned temperature and bias"

    def __init__(
        self,
        encoder: nn.Module,
        *,
        text_encoder: nn.Module,
        embed_dim: int = 128,
        logit_scale: float = 10.0,
        logit_bias: float = -10.0,
        learn_temperature: bool = True,
        lock_text: bool = False,
        gather: bool = False,
    ) -> None:
        if not (logit_scale > 0 and math.isfinite(logit_scale)):
            raise ValueError(f"logit_scale must be a finite number > 0, got {logit_scale}")
        if not math.isfinite(logit_bias):
            raise ValueError(f"logit_bias must be a finite number, got {logit_bias}")
        super().__init__(
            encoder,
            text_encoder=text_encoder,
            embed_dim=embed_dim,
            temperature=1.0 / logit_scale,
            learn_temperature=learn_temperature,
            max_logit_scale=math.inf,  # never clamped
            lock_text=lock_text,
            gather=gather,
        )
        self.logit_bias = nn.Parameter(torch.tensor(float(logit_bias)))

    def objective(self, z: list[Tensor], batch: Batch) -> Tensor:
        return siglip_loss(
            z[0],
            z[1],
            logit_scale=self.logit_scale.exp(),
            logit_bias=self.logit_bias,
            gather=self.gather,
        )

    def training_step(self, batch: Batch) -> Output:
        out = super().training_step(batch)
        out.metrics["logit_bias"] = float(self.logit_bias.detach())
        return out

    def on_step_end(self, progress: float) -> None:
        """No clamp: SigLIP trains t' freely ([1], algorithm 1)."""
