"""CoSENT and AnglE: sentence embeddings trained on text pairs with a similarity score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from contrastkit.losses.cosent import angle_loss, cosent_loss
from contrastkit.methods.base import Batch, Method, Output, encode_views, encoder_dim
from contrastkit.nn.distributed import require_distributed

__all__ = ["AnglE", "CoSENT"]


class CoSENT(Method):
    """CoSENT [1]: the cosine similarity of each pair ranked as its gold score.

    Views are the two texts of each pair ([anchor, positive] token dicts) and
    `batch.scores` their gold similarity (a `score` column: STS 0-5, 0/1 labels, any
    scale, only the order matters). The encoder's embeddings go into the loss without a
    projection head, as in [1] and sentence-transformers' CoSENTLoss; evaluation is the
    Spearman correlation of the cosine similarities with held-out gold scores.

    Args:
        encoder: text encoder with `output_dim` (token dict -> (B, D)).
        scale: lambda, 20 in [1] ("lambda = 20").
        gather: rank the pairs of every process together (torch.distributed).

    [1] Su, "CoSENT: a more efficient sentence vector scheme than Sentence-BERT", 2022.
    """

    name = "cosent"
    summary = "CoSENT: scored pairs, cosine similarities ranked as the gold scores"
    needs_scores = True
    modalities = ("text",)

    def __init__(self, encoder: nn.Module, *, scale: float = 20.0, gather: bool = False) -> None:
        super().__init__(encoder)
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        if gather:
            require_distributed()
        self.scale, self.gather = scale, gather

    def represent(self, views: Sequence[Any]) -> tuple[list[Tensor], list[Tensor]]:
        h = encode_views(self.encoder, views[:2])
        return h, h

    def objective(self, z: list[Tensor], batch: Batch) -> Tensor:
        return cosent_loss(z[0], z[1], batch.scores, scale=self.scale, gather=self.gather)

    def training_step(self, batch: Batch) -> Output:
        return self.represent_and_score(batch)


class AnglE(CoSENT):
    """AnglE [1]: CoSENT's cosine objective plus the angle objective in complex space.

    The embedding's halves are the real and imaginary parts; the angle objective ranks
    the pairs' normalised angle differences by their scores (`contrastkit.losses.
    angle_loss`). The paper's in-batch negative term is not part of this method.

    Args:
        encoder: text encoder with `output_dim` (even).
        cosine_weight: weight of the cosine (CoSENT) term (1.0).
        angle_weight: weight of the angle term (1.0).
        scale: lambda of the cosine term (20).
        angle_scale: 1 / tau of the angle term (1.0).
        gather: rank the pairs of every process together (torch.distributed).

    [1] Li and Li, "AnglE-optimized Text Embeddings", 2023 (arXiv:2309.12871).
    """

    name = "angle"
    summary = "AnglE: scored pairs, CoSENT plus the angle objective in complex space"

    def __init__(
        self,
        encoder: nn.Module,
        *,
        cosine_weight: float = 1.0,
        angle_weight: float = 1.0,
        scale: float = 20.0,
        angle_scale: float = 1.0,
        gather: bool = False,
    ) -> None:
        super().__init__(encoder, scale=scale, gather=gather)
        if cosine_weight < 0 or angle_weight < 0 or not cosine_weight + angle_weight > 0:
            raise ValueError(
                f"cosine_weight and angle_weight must be >= 0 and not both 0, got "
                f"{cosine_weight} and {angle_weight}"
            )
        if encoder_dim(encoder) % 2:
            raise ValueError(
                f"AnglE splits embeddings into two halves: the encoder's output_dim must be "
                f"even, got {encoder_dim(encoder)}"
            )
        if not angle_scale > 0:
            raise ValueError(f"angle_scale must be > 0, got {angle_scale}")
        self.cosine_weight, self.angle_weight = cosine_weight, angle_weight
        self.angle_scale = angle_scale

    def objective(self, z: list[Tensor], batch: Batch) -> Tensor:
        return angle_loss(
            z[0],
            z[1],
            batch.scores,
            cosine_weight=self.cosine_weight,
            angle_weight=self.angle_weight,
            cosine_scale=self.scale,
            angle_scale=self.angle_scale,
            gather=self.gather,
        )
