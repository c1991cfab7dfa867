"""VICReg: variance, invariance and covariance terms on two views' embeddings."""

from __future__ import annotations

from torch import nn

from contrastkit.losses.vicreg import vicreg_loss
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


class VICReg(Method):
    """VICReg [1].

    z1, z2 = expander(encoder(x1, x2)); loss = sim_weight * MSE(z1, z2)
    + var_weight * (hinge on each feature's std, per branch)
    + cov_weight * (squared off-diagonal covariances, per branch).

    Args:
        encoder: backbone with `output_dim`.
        sim_weight: lambda of [1], the invariance weight (25).
        var_weight: mu of [1], the variance weight (25).
        cov_weight: nu of [1], the covariance weight (1).
        gather: compute variance and covariance over every process's batch.
        proj_hidden_dim: hidden width of the expander, a 3-layer MLP (8192 in [1]).
        proj_dim: its output size (8192 in [1]).

    [1] Bardes, Ponce and LeCun, "VICReg: Variance-Invariance-Covariance Regularization
        for Self-Supervised Learning", ICLR 2022.
    """

    name = "vicreg"
    summary = "VICReg: invariance + per-feature variance hinge + covariance decorrelation"

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        sim_weight: float = 25.0,
        var_weight: float = 25.0,
        cov_weight: float = 1.0,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 2048,
    ) -> None:
        super().__init__(encoder)
        for key, value in (
            ("sim_weight", sim_weight),
            ("var_weight", var_weight),
            ("cov_weight", cov_weight),
        ):
            if value < 0:
                raise ValueError(f"{key} must be >= 0, got {value}")
        if gather:
            require_distributed()
        self.head = head or ProjectionHead(
            encoder_dim(encoder), proj_hidden_dim, proj_dim, num_layers=3
        )
        self.weights = (sim_weight, var_weight, cov_weight)
        self.gather = gather

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        h1, h2 = encode_views(self.encoder, batch.views[:2])
        z1, z2 = encode_views(self.head, [h1, h2])
        sim, var, cov = self.weights
        terms = vicreg_loss(
            z1, z2, sim_weight=sim, var_weight=var, cov_weight=cov, gather=self.gather
        )
        metrics = {
            "loss": float(terms.loss.detach()),
            "invariance": float(terms.invariance.detach()),
            "variance": float(terms.variance.detach()),
            "covariance": float(terms.covariance.detach()),
            "z_std": embedding_std(z1),
        }
        return Output(terms.loss, metrics, embeddings=(h1, h2))
