"""Training on given pairs and triplets: multiple-negatives ranking and the triplet loss."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.losses.ranking import multiple_negatives_ranking
from contrastkit.methods.base import Batch, Method, Output, embedding_std, encode_views
from contrastkit.nn.distributed import require_distributed


class MultipleNegativesRanking(Method):
    """Supervised SimCSE [1] / multiple-negatives ranking [2] on (anchor, positive[, negative]).

    Views are the columns of the batch: anchors, their positives and optionally hard
    negatives. Each anchor must pick its own positive among all positives and all hard
    negatives of the batch (and of every process with `gather`).

    Args:
        encoder: a `TextEncoder` (or any module mapping a view to (B, D)).
        temperature: 0.05 (sentence-transformers' scale 20; SimCSE uses 0.05 too).
        symmetric: also pick each positive's anchor among the batch's anchors.
        gather: columns from every process (torch.distributed), with gradients.

    [1] Gao et al., "SimCSE: Simple Contrastive Learning of Sentence Embeddings",
        EMNLP 2021, section 4.
    [2] Henderson et al., "Efficient Natural Language Response Suggestion for Smart Reply",
        2017.
    """

    name = "mnrl"
    summary = "supervised SimCSE: (anchor, positive[, hard negative]) with in-batch negatives"
    modality = "text"
    text_data = "pairs"

    def __init__(
        self,
        encoder: nn.Module,
        *,
        temperature: float = 0.05,
        symmetric: bool = False,
        gather: bool = False,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if gather:
            require_distributed()
        self.temperature, self.symmetric, self.gather = temperature, symmetric, gather

    def represent(self, views) -> tuple[list, list]:
        z = encode_views(self.encoder, views[:3])
        return z, z

    def objective(self, z, batch: Batch):
        return multiple_negatives_ranking(
            z[0],
            z[1],
            z[2] if len(z) == 3 else None,
            temperature=self.temperature,
            symmetric=self.symmetric,
            gather=self.gather,
        )

    def training_step(self, batch: Batch) -> Output:
        return self.represent_and_score(batch)


def _cosine_distance(a: Tensor, b: Tensor) -> Tensor:
    return 1.0 - F.cosine_similarity(a, b, dim=-1)


class TextTriplet(Method):
    """The triplet loss [1] on given (anchor, positive, negative) triplets.

    loss = mean over rows of max(d(a, p) - d(a, n) + margin, 0), with cosine distance
    (1 - cos) or Euclidean distance. For triplets mined from class labels, use the
    `triplet` method instead.

    Args:
        encoder: a `TextEncoder` (or any module mapping a view to (B, D)).
        margin: required gap between the negative and the positive distance.
        metric: "cosine" or "euclidean".

    [1] Schroff et al., "FaceNet: A Unified Embedding for Face Recognition and
        Clustering", CVPR 2015.
    """

    name = "text_triplet"
    summary = "triplet margin loss on given (anchor, positive, negative) texts"
    modality = "text"
    text_data = "triplets"
    min_views = 3

    def __init__(self, encoder: nn.Module, *, margin: float = 0.3, metric: str = "cosine") -> None:
        super().__init__(encoder)
        if margin <= 0:
            raise ValueError(f"margin must be > 0, got {margin}")
        if metric not in ("cosine", "euclidean"):
            raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
        self.margin, self.metric = margin, metric

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        a, p, n = (z.float() for z in encode_views(self.encoder, batch.views[:3]))
        distance = _cosine_distance if self.metric == "cosine" else F.pairwise_distance
        loss = F.triplet_margin_with_distance_loss(
            a, p, n, distance_function=distance, margin=self.margin
        )
        metrics = {"loss": float(loss.detach()), "z_std": embedding_std(a)}
        return Output(loss, metrics, embeddings=(a, p))
