"""dino_loss against slow references (the paper's Algorithm 1 and a loop over rows and
dimensions), the center, the teacher-temperature schedule, bf16 and bad inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.dino import DINOLoss, batch_center, dino_loss, teacher_temperature_at


def algorithm_1(gs1, gs2, gt1, gt2, center, tps, tpt):
    """Algorithm 1 of Caron et al. 2021, two views, as printed (float64)."""

    def h(t, s):
        t = t.detach()  # stop gradient
        s = F.softmax(s / tps, dim=1)
        t = F.softmax((t - center) / tpt, dim=1)  # center + sharpen
        return -(t * torch.log(s)).sum(dim=1).mean()

    return h(gt1, gs2) / 2 + h(gt2, gs1) / 2


def reference_dino(student, teacher, center, tps, tpt):
    """Loop over teacher views, other student views, rows and dimensions; float64."""
    total, terms = 0.0, 0
    for t, gt in enumerate(teacher):
        for s, gs in enumerate(student):
            if s == t:
                continue
            rows = 0.0
            for i in range(gt.shape[0]):
                target = torch.softmax((gt[i].detach().double() - center.double()) / tpt, dim=0)
                log_p = torch.log_softmax(gs[i].double() / tps, dim=0)
                rows = rows - sum(target[k] * log_p[k] for k in range(gt.shape[1]))
            total = total + rows / gt.shape[0]
            terms += 1
    return total / terms


def _outputs(n_student, n_teacher, n=6, k=10, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    student = [(scale * torch.randn(n, k, generator=g)).requires_grad_() for _ in range(n_student)]
    teacher = [scale * torch.randn(n, k, generator=g) for _ in range(n_teacher)]
    return student, teacher, 0.3 * torch.randn(k, generator=g)


def test_two_views_equal_the_papers_pseudocode_in_value_and_gradient():
    student, teacher, center = _outputs(2, 2)
    loss = dino_loss(student, teacher, center, student_temperature=0.1, teacher_temperature=0.04)
    copies = [s.detach().double().requires_grad_() for s in student]
    want = algorithm_1(*copies, *(t.double() for t in teacher), center.double(), 0.1, 0.04)
    torch.testing.assert_close(loss.double(), want, rtol=1e-5, atol=1e-6)
    loss.backward()
    want.backward()
    for s, c in zip(student, copies, strict=True):
        torch.testing.assert_close(s.grad.double(), c.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("n_student", "n_teacher"), [(2, 2), (4, 2), (6, 2), (3, 1), (5, 3)])
@pytest.mark.parametrize(("tps", "tpt"), [(0.1, 0.04), (0.1, 0.07), (0.2, 0.5)])
def test_multi_crop_matches_a_loop_reference_in_value_and_gradient(n_student, n_teacher, tps, tpt):
    student, teacher, center = _outputs(n_student, n_teacher, seed=n_student + n_teacher)
    loss = dino_loss(student, teacher, center, student_temperature=tps, teacher_temperature=tpt)
    copies = [s.detach().double().requires_grad_() for s in student]
    want = reference_dino(copies, teacher, center, tps, tpt)
    torch.testing.assert_close(loss.double(), want, rtol=1e-5, atol=1e-6)
    loss.backward()
    want.backward()
    for s, c in zip(student, copies, strict=True):  # a view only the teacher sees: no grad
        want_grad = torch.zeros_like(c) if c.grad is None else c.grad
        torch.testing.assert_close(s.grad.double(), want_grad, rtol=1e-4, atol=1e-7)


def test_no_gradient_reaches_the_teacher_or_the_center():
    student, teacher, center = _outputs(4, 2)
    teacher = [t.requires_grad_() for t in teacher]
    center.requires_grad_()
    dino_loss(student, teacher, center).backward()
    assert all(t.grad is None for t in teacher) and center.grad is None


def test_analytic_value_for_uniform_targets():
    """Constant teacher and student outputs: uniform targets and predictions, H = log K."""
    k = 12
    student = [torch.zeros(5, k) for _ in range(3)]
    teacher = [torch.full((5, k), 3.0) for _ in range(2)]
    loss = dino_loss(student, teacher, torch.zeros(k))
    torch.testing.assert_close(loss, torch.tensor(float(torch.log(torch.tensor(k)))))


def test_centering_changes_the_targets_and_a_constant_shift_does_not():
    student, teacher, center = _outputs(4, 2)
    base = dino_loss(student, teacher, center)
    # a shift of every dimension by the same amount leaves the softmax unchanged
    torch.testing.assert_close(dino_loss(student, teacher, center + 5.0), base)
    assert not torch.allclose(dino_loss(student, teacher, torch.zeros_like(center)), base)
    # subtracting the center equals shifting the teacher outputs
    shifted = [t - center for t in teacher]
    torch.testing.assert_close(dino_loss(student, shifted, torch.zeros_like(center)), base)


def test_bf16_inputs_give_the_float32_loss():
    student, teacher, center = _outputs(4, 2, scale=2.0)
    low = [s.detach().bfloat16() for s in student]
    want = dino_loss([s.float() for s in low], [t.bfloat16().float() for t in teacher], center)
    got = dino_loss(low, [t.bfloat16() for t in teacher], center)
    assert got.dtype == torch.float32 and torch.isfinite(got)
    torch.testing.assert_close(got, want)


def test_batch_center_is_the_mean_over_rows_of_every_global_view():
    teacher = [torch.randn(4, 6), torch.randn(4, 6)]
    torch.testing.assert_close(batch_center(teacher), torch.cat(teacher).mean(dim=0))


def test_the_center_moves_with_momentum_towards_the_batch_mean():
    loss_fn = DINOLoss(6, center_momentum=0.9)
    teacher = [torch.randn(4, 6), torch.randn(4, 6)]
    mean = torch.cat(teacher).mean(dim=0)
    loss_fn.update_center(batch_center(teacher))
    torch.testing.assert_close(loss_fn.center, 0.1 * mean)
    loss_fn.update_center(batch_center(teacher))
    torch.testing.assert_close(loss_fn.center, (0.9 * 0.1 + 0.1) * mean)
    for _ in range(200):  # a fixed batch mean is the fixed point
        loss_fn.update_center(mean)
    torch.testing.assert_close(loss_fn.center, mean)
    assert "center" in loss_fn.state_dict()


def test_the_module_equals_the_function():
    student, teacher, center = _outputs(4, 2)
    loss_fn = DINOLoss(10, student_temperature=0.2)
    loss_fn.center.copy_(center)
    torch.testing.assert_close(
        loss_fn(student, teacher, 0.05),
        dino_loss(student, teacher, center, student_temperature=0.2, teacher_temperature=0.05),
    )


def test_teacher_temperature_warms_up_linearly_then_stays():
    at = [teacher_temperature_at(p, start=0.04, end=0.07, warmup=0.3) for p in (0, 0.15, 0.3, 1)]
    assert at == pytest.approx([0.04, 0.055, 0.07, 0.07])
    assert teacher_temperature_at(0.5, start=0.04, end=0.07, warmup=0.0) == 0.07
    assert teacher_temperature_at(0.99, start=0.04, end=0.07, warmup=1.0) == pytest.approx(0.0697)


@pytest.mark.parametrize(
    ("student", "teacher", "center", "match"),
    [
        ([torch.randn(4, 5)], [torch.randn(4, 5)], torch.zeros(5), "at least 2"),
        ([torch.randn(4, 5)] * 2, [], torch.zeros(5), "teacher must hold"),
        ([torch.randn(4, 5)] * 2, [torch.randn(4, 5)] * 3, torch.zeros(5), "teacher must hold"),
        ([torch.randn(4, 5), torch.randn(4, 6)], [torch.randn(4, 5)], torch.zeros(5), "shape"),
        ([torch.randn(4, 5)] * 2, [torch.randn(3, 5)], torch.zeros(5), "shape"),
        ([torch.randn(4, 5)] * 2, [torch.randn(4, 5)], torch.zeros(4), "center"),
    ],
)
def test_bad_inputs_are_named(student, teacher, center, match):
    with pytest.raises(ValueError, match=match):
        dino_loss(student, teacher, center)


def test_bad_settings_are_named():
    s = [torch.randn(4, 5)] * 2
    with pytest.raises(ValueError, match="temperature"):
        dino_loss(s, s[:1], torch.zeros(5), teacher_temperature=0.0)
    with pytest.raises(ValueError, match="center_momentum"):
        DINOLoss(5, center_momentum=1.0)
    with pytest.raises(ValueError, match="out_dim"):
        DINOLoss(0)
