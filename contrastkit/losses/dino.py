"""DINO: self-distillation with a centred, sharpened teacher over multi-crop views.

The loss is the cross-entropy between the teacher's distribution over the K output
dimensions of each global view and the student's distribution of every other view
(Algorithm 1 of [1]). Computed in float32 whatever the input dtype.

[1] Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature
from contrastkit.nn.distributed import is_distributed, require_distributed


def dino_loss(
    student: Sequence[Tensor],
    teacher: Sequence[Tensor],
    center: Tensor,
    *,
    student_temperature: float = 0.1,
    teacher_temperature: float = 0.04,
) -> Tensor:
    """DINO's self-distillation loss [1] (Algorithm 1, with multi-crop as in sec. 3.1).

    For each teacher view t and each student view s != t:
    H(t, s) = mean over rows of -sum_k P_t[i, k] log P_s[i, k], with the centred and
    sharpened teacher P_t = softmax((teacher[t] - center) / teacher_temperature) as a
    constant and P_s = softmax(student[s] / student_temperature). The loss is the mean of
    H over those pairs, as in the official code [2] (Algorithm 1's
    H(t1, s2) / 2 + H(t2, s1) / 2 with 2 views).

    Args:
        student: V >= 2 tensors (B, K) of student outputs, the global views first (in the
            teacher's order), then any local crops.
        teacher: G tensors (B, K) of teacher outputs of the global views, 1 <= G <= V;
            teacher[t] and student[t] are the same view. Detached here.
        center: (K,) or (1, K) running mean of the teacher outputs (see `batch_center`).
        student_temperature: tau_s > 0 (0.1 in [1]).
        teacher_temperature: tau_t > 0 (0.04 to 0.07 in [1]; lower sharpens the targets).

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: fewer than 2 student views, no teacher views or more than student
            views, shapes that differ from student[0], or a temperature <= 0.

    Example:
        >>> student = [torch.randn(8, 64, requires_grad=True) for _ in range(4)]
        >>> teacher = [torch.randn(8, 64) for _ in range(2)]
        >>> loss = dino_loss(student, teacher, torch.zeros(64))
        >>> loss.backward()

    [1] Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021.
    [2] https://github.com/facebookresearch/dino, main_dino.py, DINOLoss.
    """
    if len(student) < 2:
        raise ValueError(f"student must hold at least 2 views, got {len(student)}")
    if not 1 <= len(teacher) <= len(student):
        raise ValueError(
            f"teacher must hold 1 to len(student)={len(student)} views, got {len(teacher)}"
        )
    shape = tuple(student[0].shape)
    if len(shape) != 2:
        raise ValueError(f"student[0] must be a 2-D (B, K) tensor, got shape {shape}")
    for name, group in (("student", student), ("teacher", teacher)):
        for v, x in enumerate(group):
            if tuple(x.shape) != shape:
                raise ValueError(f"{name}[{v}] must have shape {shape}, got {tuple(x.shape)}")
    if center.numel() != shape[1]:
        raise ValueError(f"center must hold K={shape[1]} values, got shape {tuple(center.shape)}")
    check_temperature(student_temperature)
    check_temperature(teacher_temperature)

    with torch.autocast(student[0].device.type, enabled=False):
        c = center.detach().float().reshape(1, -1)
        targets = torch.stack(  # (G, B, K): centre, then sharpen
            [torch.softmax((t.detach().float() - c) / teacher_temperature, dim=1) for t in teacher]
        )
        log_p = torch.stack(  # (V, B, K)
            [torch.log_softmax(s.float() / student_temperature, dim=1) for s in student]
        )
        # cross[t, s] = H(teacher view t, student view s); the same view (t == s) is skipped
        cross = -torch.einsum("tbk,sbk->ts", targets, log_p) / shape[0]
        same = torch.eye(len(teacher), len(student), dtype=torch.bool, device=cross.device)
        return cross.masked_fill(same, 0.0).sum() / (cross.numel() - len(teacher))


@torch.no_grad()
def batch_center(teacher: Sequence[Tensor], *, gather: bool = False) -> Tensor:
    """The mean teacher output over the rows of every global view (and every process).

    Args:
        teacher: G tensors (B, K) of teacher outputs.
        gather: average over every process's rows too (an all_reduce of the sums: the
            center carries no gradient, so a plain collective is right here).

    Returns:
        (K,) float32 mean.
    """
    if gather:
        require_distributed()
    total = torch.stack([t.float().sum(dim=0) for t in teacher]).sum(dim=0)
    count = torch.tensor(float(sum(t.shape[0] for t in teacher)), device=total.device)
    if gather and is_distributed():
        summed = torch.cat([total, count.reshape(1)])
        dist.all_reduce(summed)
        total, count = summed[:-1], summed[-1]
    return total / count


def teacher_temperature_at(
    progress: float, *, start: float = 0.04, end: float = 0.07, warmup: float = 0.3
) -> float:
    """DINO's teacher temperature: linear from `start` to `end` over the first `warmup`
    fraction of training, then `end` ("a linear warm-up from 0.04 to 0.07 during the first
    30 epochs", sec. 3.1 and appendix of [1]; 30 of its 100-epoch runs is 0.3).

    Args:
        progress: fraction of training done, in [0, 1].
        start: temperature at the start, > 0 (0.04).
        end: temperature after the warm-up, > 0 (0.07).
        warmup: fraction of training in [0, 1] (0: `end` from the start).
    """
    if warmup <= 0 or progress >= warmup:
        return end
    return start + (end - start) * max(progress, 0.0) / warmup


class DINOLoss(nn.Module):
    """Module form of `dino_loss` that keeps the center as a buffer.

    `forward` leaves the center as it is; `update_center(batch_center(teacher))` moves it
    towards the batch mean: center <- m * center + (1 - m) * mean (Algorithm 1 of [1]).
    The two are apart so that a trainer can apply the update only after a step it keeps.

    Args:
        out_dim: K, the number of output dimensions.
        student_temperature: tau_s (0.1).
        center_momentum: m in [0, 1) (0.9).

    Example:
        >>> loss_fn = DINOLoss(64)
        >>> teacher = [torch.randn(8, 64) for _ in range(2)]
        >>> loss = loss_fn([torch.randn(8, 64) for _ in range(4)], teacher, 0.04)
        >>> loss_fn.update_center(batch_center(teacher))
    """

    center: Tensor

    def __init__(
        self,
        out_dim: int,
        student_temperature: float = 0.1,
        center_momentum: float = 0.9,
    ) -> None:
        super().__init__()
        if out_dim < 1:
            raise ValueError(f"out_dim must be >= 1, got {out_dim}")
        check_temperature(student_temperature)
        if not 0.0 <= center_momentum < 1.0:
            raise ValueError(f"center_momentum must be in [0, 1), got {center_momentum}")
        self.register_buffer("center", torch.zeros(out_dim))
        self.student_temperature, self.center_momentum = student_temperature, center_momentum

    def forward(
        self, student: Sequence[Tensor], teacher: Sequence[Tensor], teacher_temperature: float
    ) -> Tensor:
        return dino_loss(
            student,
            teacher,
            self.center,
            student_temperature=self.student_temperature,
            teacher_temperature=teacher_temperature,
        )

    @torch.no_grad()
    def update_center(self, mean: Tensor) -> None:
        """center <- m * center + (1 - m) * mean, with `mean` (K,) from `batch_center`."""
        m = self.center_momentum
        self.center.mul_(m).add_(mean.to(self.center), alpha=1.0 - m)

    def extra_repr(self) -> str:
        return (
            f"out_dim={self.center.numel()}, student_temperature={self.student_temperature}, "
            f"center_momentum={self.center_momentum}"
        )
