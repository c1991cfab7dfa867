"""DINO: a student matches a centred, sharpened EMA teacher over multi-crop views."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.losses.dino import DINOLoss, batch_center, teacher_temperature_at
from contrastkit.methods.base import Batch, Method, Output, embedding_std, encode_views, encoder_dim
from contrastkit.nn.distributed import require_distributed
from contrastkit.nn.heads import DINOHead
from contrastkit.nn.momentum import cosine_momentum, ema_update, momentum_copy


class DINO(Method):
    """DINO [1] (Algorithm 1, multi-crop as in sec. 3.1).

    Student gs = head(encoder(x)) on every view: the 2 global views, then any small local
    crops (`views.local_views`). Teacher gt = the EMA copies of encoder and head on the
    global views only, without gradient. loss = mean over teacher views t and student
    views s != t of H(gt_t, gs_s): the cross-entropy from softmax((gt - C) / tau_t) to
    softmax(gs / tau_s). After each applied step: teacher <- l * teacher + (1 - l) *
    student with l raised from `momentum` to 1 on a cosine schedule, and the center
    C <- m * C + (1 - m) * mean(gt) (over every process's batch with `gather`). tau_t
    rises linearly from `warmup_teacher_temperature` to `teacher_temperature` over the
    first `teacher_temperature_warmup` of training. Centering keeps one dimension from
    dominating, sharpening keeps the targets from going uniform: together they avoid
    collapse without negatives or a predictor. The center, the teacher and the training
    progress (which sets tau_t) are buffers, so checkpoints restore them exactly.

    Args:
        encoder: backbone with `output_dim` (CNN or ViT; a ViT needs
            `dynamic_img_size` to embed the smaller local crops).
        out_dim: K, the head's output size (65536 in [1]; a few thousand suit small data).
        student_temperature: tau_s (0.1).
        teacher_temperature: tau_t after the warm-up (0.04 to 0.07 in [1]).
        warmup_teacher_temperature: tau_t at the start (0.04).
        teacher_temperature_warmup: fraction of training over which tau_t rises (0.3: 30
            epochs of [1]'s 100).
        center_momentum: m (0.9).
        momentum: base l of the teacher (0.996 in [1]; 0.99 suits short runs).
        freeze_last_layer_steps: steps at the start with the head's last layer frozen
            ([1]: the first epoch; 0: never).
        head_batch_norm: BatchNorm in the head's MLP (the official `use_bn_in_head`, off
            in [1]'s ViT runs); on by default: without it the compact CNN's non-negative
            features sent every item to the same output within a few dozen steps here.
        gather: take the center's batch mean over every process (torch.distributed).
        proj_hidden_dim: hidden width of the head's 3-layer MLP (2048 in [1]).
        proj_dim: its bottleneck size (256 in [1]).

    [1] Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021.
    """

    name = "dino"
    summary = "DINO: student matches a centred, sharpened EMA teacher, multi-crop views"
    n_global = 2

    progress: Tensor
    steps_done: Tensor

    def __init__(
        self,
        encoder: nn.Module,
        *,
        out_dim: int = 4096,
        student_temperature: float = 0.1,
        teacher_temperature: float = 0.07,
        warmup_teacher_temperature: float = 0.04,
        teacher_temperature_warmup: float = 0.3,
        center_momentum: float = 0.9,
        momentum: float = 0.996,
        freeze_last_layer_steps: int = 0,
        head_batch_norm: bool = True,
        gather: bool = False,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 256,
    ) -> None:
        super().__init__(encoder)
        if out_dim < 1:
            raise ValueError(f"out_dim must be >= 1, got {out_dim}")
        for key, value in (
            ("student_temperature", student_temperature),
            ("teacher_temperature", teacher_temperature),
            ("warmup_teacher_temperature", warmup_teacher_temperature),
        ):
            if not value > 0:
                raise ValueError(f"{key} must be > 0, got {value}")
        for key, value in (
            ("teacher_temperature_warmup", teacher_temperature_warmup),
            ("momentum", momentum),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be in [0, 1], got {value}")
        if freeze_last_layer_steps < 0:
            raise ValueError(f"freeze_last_layer_steps must be >= 0, got {freeze_last_layer_steps}")
        if gather:
            require_distributed()
        self.head = DINOHead(
            encoder_dim(encoder), proj_hidden_dim, proj_dim, out_dim, batch_norm=head_batch_norm
        )
        self.teacher_encoder = momentum_copy(self.encoder)
        self.teacher_head = momentum_copy(self.head)
        self.criterion = DINOLoss(out_dim, student_temperature, center_momentum)  # holds C
        self.register_buffer("progress", torch.zeros((), dtype=torch.float64))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.temperatures = (warmup_teacher_temperature, teacher_temperature)
        self.teacher_temperature_warmup = teacher_temperature_warmup
        self.base_momentum = self.momentum = momentum
        self.freeze_last_layer_steps = freeze_last_layer_steps
        self.unused_parameters = freeze_last_layer_steps > 0  # the last layer, while frozen
        self.gather = gather
        self.pending_center: Tensor | None = None  # this step's teacher mean, for on_step_end

    def teacher_temperature(self) -> float:
        """tau_t of the next step, from the training progress so far."""
        start, end = self.temperatures
        return teacher_temperature_at(
            float(self.progress), start=start, end=end, warmup=self.teacher_temperature_warmup
        )

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        self.head.frozen_last_layer = int(self.steps_done) < self.freeze_last_layer_steps
        h = encode_views(self.encoder, batch.views)  # student: global views, then local crops
        student = encode_views(self.head, h)
        with torch.no_grad():  # teacher: the global views only
            teacher = encode_views(self.teacher_head, encode_views(
                self.teacher_encoder, batch.views[: self.n_global]))  # fmt: skip
        tau_t = self.teacher_temperature()
        loss = self.criterion(student, teacher, tau_t)
        self.pending_center = batch_center(teacher, gather=self.gather)
        metrics = {
            "loss": float(loss.detach()),
            "z_std": embedding_std(student[0].detach().float()),
            "teacher_temperature": tau_t,
            "momentum": self.momentum,
        }
        return Output(loss, metrics, embeddings=(h[0], h[1]))

    def on_step_end(self, progress: float) -> None:
        self.momentum = cosine_momentum(progress, self.base_momentum)
        ema_update(self.teacher_encoder, self.encoder, self.momentum)
        ema_update(self.teacher_head, self.head, self.momentum)
        if self.pending_center is not None:  # after an applied update only
            self.criterion.update_center(self.pending_center)
            self.pending_center = None
        self.progress.fill_(progress)
        self.steps_done += 1
