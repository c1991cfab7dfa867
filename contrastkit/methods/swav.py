"""SwAV: online clustering with Sinkhorn-Knopp codes and swapped prediction, multi-crop."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.losses.swav import sinkhorn, swav_loss
from contrastkit.methods.base import Batch, Method, Output, embedding_std, encode_views, encoder_dim
from contrastkit.nn.distributed import require_distributed
from contrastkit.nn.heads import ProjectionHead
from contrastkit.nn.queue import FeatureQueue


class SwAV(Method):
    """SwAV [1].

    Per step: L2-normalise the prototypes; z = normalize(head(encoder(view))) for the 2
    global views and any number of small local crops (multi-crop); scores = z C^T. For
    each global view, codes q = Sinkhorn-Knopp(scores) (equipartition over prototypes,
    computed without gradient, over the batch plus the queue once it is full); the loss
    predicts each global view's codes from every other view: CE(q_s, softmax(scores_t / T)).
    The prototypes receive no gradient for the first `freeze_prototypes_steps` steps. The
    queues and the prototypes' normalisation change only after an applied update
    (`on_step_end`; the official code normalises at the start of the next iteration, the
    same values), so a step the trainer skips (non-finite) leaves them as they were.

    Args:
        encoder: backbone with `output_dim`.
        n_prototypes: K (3000 for ImageNet in [1]; ~10x the classes suits small data).
        temperature: T of the softmax over prototypes (0.1).
        epsilon: entropy regularisation of Sinkhorn-Knopp (0.05).
        sinkhorn_iterations: 3 in [1].
        queue_size: embeddings kept per global view to stabilise codes with small batches
            (0: no queue; [1] uses 3840 for batches of 256); used once full.
        freeze_prototypes_steps: steps with frozen prototypes at the start (313 in [1]).
        gather: run Sinkhorn over every process's batch (needs torch.distributed).
        proj_hidden_dim: hidden width of the 2-layer projection head.
        proj_dim: its output size.

    [1] Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
        Assignments", NeurIPS 2020.
    """

    name = "swav"
    unused_parameters = True  # the prototypes, while frozen
    summary = "SwAV: Sinkhorn cluster codes, swapped prediction, multi-crop views"
    n_global = 2

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None = None,
        *,
        n_prototypes: int = 100,
        temperature: float = 0.1,
        epsilon: float = 0.05,
        sinkhorn_iterations: int = 3,
        queue_size: int = 0,
        freeze_prototypes_steps: int = 300,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        for key, value in (
            ("n_prototypes", n_prototypes),
            ("sinkhorn_iterations", sinkhorn_iterations),
        ):
            if value < 1:
                raise ValueError(f"{key} must be >= 1, got {value}")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        if queue_size < 0 or freeze_prototypes_steps < 0:
            raise ValueError("queue_size and freeze_prototypes_steps must be >= 0")
        if gather:
            require_distributed()
        self.head = head or ProjectionHead(encoder_dim(encoder), proj_hidden_dim, proj_dim)
        out = getattr(self.head, "output_dim", proj_dim)
        self.prototypes = nn.Linear(out, n_prototypes, bias=False)
        self._normalize_prototypes()
        self.queues = nn.ModuleList(
            [FeatureQueue(queue_size, out, normalize_init=False) for _ in range(self.n_global)]
            if queue_size > 0
            else []
        )
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.temperature, self.epsilon = temperature, epsilon
        self.sinkhorn_iterations = sinkhorn_iterations
        self.freeze_prototypes_steps = freeze_prototypes_steps
        self.gather = gather
        self.pending: list[Tensor] = []  # this step's rows for the queues, pushed in on_step_end

    @torch.no_grad()
    def _normalize_prototypes(self) -> None:
        self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))

    @torch.no_grad()
    def _codes(self, scores: Tensor, z: Tensor, view: int, weight: Tensor) -> Tensor:
        """Sinkhorn codes (B, K) of one global view, with the queue's rows as extra items."""
        scores = scores.detach().float()
        if self.queues and self.queues[view].filled == self.queues[view].size:
            queued = self.queues[view].features().float() @ weight.T
            scores = torch.cat([scores, queued])
        q = sinkhorn(
            scores,
            epsilon=self.epsilon,
            iterations=self.sinkhorn_iterations,
            gather=self.gather,
        )
        return q[: z.shape[0]]

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        frozen = int(self.steps_done) < self.freeze_prototypes_steps
        weight = self.prototypes.weight.detach() if frozen else self.prototypes.weight
        h = encode_views(self.encoder, batch.views)
        z = [F.normalize(x.float(), dim=1) for x in encode_views(self.head, h)]
        scores = [x @ weight.float().T for x in z]
        codes = [self._codes(scores[v], z[v], v, weight.detach()) for v in range(self.n_global)]
        loss = swav_loss(scores, codes, temperature=self.temperature)
        self.pending = [z[v].detach() for v in range(len(self.queues))]  # own rows only
        metrics = {
            "loss": float(loss.detach()),
            "z_std": embedding_std(z[0]),
            "prototypes_frozen": float(frozen),
        }
        return Output(loss, metrics, embeddings=(h[0], h[1]))

    def on_step_end(self, progress: float) -> None:
        if self.pending:  # after an applied update only: a skipped step queues nothing
            for queue, rows in zip(self.queues, self.pending, strict=True):
                queue.push(rows)
            self.pending = []
        self._normalize_prototypes()  # on the sphere for the next step
        self.steps_done += 1
