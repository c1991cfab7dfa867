"""supcon_loss against a slow reference written with loops, and against nt_xent."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.info_nce import nt_xent
from contrastkit.losses.supcon import SupConLoss, supcon_loss


def reference_supcon(views, labels, temperature):
    """L_out of Khosla et al. (eq. 2), one anchor and one positive at a time, float64."""
    z = torch.cat([F.normalize(v.double(), dim=1) for v in views])
    y = labels.repeat(len(views)).tolist()
    total, anchors = 0.0, 0
    for i in range(z.shape[0]):
        others = [k for k in range(z.shape[0]) if k != i]
        logits = {k: z[i] @ z[k] / temperature for k in others}
        log_denominator = torch.logsumexp(torch.stack(list(logits.values())), 0)
        positives = [p for p in others if y[p] == y[i]]
        if not positives:
            continue
        loss_i = sum(log_denominator - logits[p] for p in positives) / len(positives)
        total, anchors = total + loss_i, anchors + 1
    return total / anchors


LABELS = {
    "distinct": lambda n: torch.arange(n),
    "same": lambda n: torch.zeros(n, dtype=torch.long),
    "mixed": lambda n: torch.tensor([0, 1, 0, 2, 1, 3, 0, 4, 4, 2, 5, 1])[:n],
}


def _leaves(shapes, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g).to(dtype).requires_grad_() for s in shapes]


# One view of distinct labels leaves no anchor a positive: that case is
# test_no_positive_gives_zero, so it is not generated here.
CASES = [
    (n, n_views, pattern)
    for n in (2, 9)
    for n_views in (1, 2, 3)
    for pattern in LABELS
    if n_views > 1 or LABELS[pattern](n).unique().numel() < n
]


@pytest.mark.parametrize(("n", "n_views", "pattern"), CASES)
@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_matches_reference_value_and_gradient(n, n_views, temperature, pattern):
    labels = LABELS[pattern](n)
    views = _leaves([(n, 6)] * n_views, seed=31 * n + n_views)
    ours = supcon_loss(*views, labels=labels, temperature=temperature)
    ref = reference_supcon(views, labels, temperature)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    for g_ours, g_ref in zip(
        torch.autograd.grad(ours, views), torch.autograd.grad(ref, views), strict=True
    ):
        torch.testing.assert_close(g_ours.double(), g_ref.double(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("n_views", [2, 3, 4])
@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_distinct_labels_equal_nt_xent(n_views, temperature):
    views = _leaves([(9, 5)] * n_views, seed=n_views)
    ours = supcon_loss(*views, labels=torch.arange(9) * 7, temperature=temperature)
    theirs = nt_xent(*views, temperature=temperature)
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
    for a, b in zip(
        torch.autograd.grad(ours, views), torch.autograd.grad(theirs, views), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_singletons_with_one_view_are_left_out_of_the_mean():
    # Items 0 and 1 share a label; 2 and 3 are alone: only 2 anchors count.
    (z,) = _leaves([(4, 3)], seed=2)
    labels = torch.tensor([7, 7, 8, 9])
    ours = supcon_loss(z, labels=labels, temperature=0.3)
    logits = F.normalize(z.double(), dim=1) @ F.normalize(z.double(), dim=1).T / 0.3
    lse = [torch.logsumexp(logits[i, [k for k in range(4) if k != i]], 0) for i in (0, 1)]
    expected = (lse[0] - logits[0, 1] + lse[1] - logits[1, 0]) / 2
    torch.testing.assert_close(ours.double(), expected, rtol=1e-5, atol=1e-6)


def test_no_positive_gives_zero_with_a_graph():
    (z,) = _leaves([(5, 3)], seed=1)
    loss = supcon_loss(z, labels=torch.arange(5))
    assert loss.item() == 0.0
    (grad,) = torch.autograd.grad(loss, z)
    assert torch.equal(grad, torch.zeros_like(z))
    single = supcon_loss(z[:1], labels=torch.zeros(1))  # one row, no other column at all
    assert torch.isfinite(single) and single.item() == 0.0


@pytest.mark.parametrize("n", [3, 8])
@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_closed_forms(n, temperature):
    # Collapse: every similarity is 1, every other row is a positive when labels agree.
    same = torch.ones(n, 4)
    torch.testing.assert_close(
        supcon_loss(same, same, labels=torch.zeros(n), temperature=temperature),
        torch.tensor(math.log(2 * n - 1)),
    )
    # Orthonormal items, identical views, distinct labels: NT-Xent's closed form.
    eye = torch.eye(n, n + 1)
    expected = math.log(1 + (2 * n - 2) * math.exp(-1 / temperature))
    torch.testing.assert_close(
        supcon_loss(eye, eye.clone(), labels=torch.arange(n), temperature=temperature),
        torch.tensor(expected),
    )


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs_are_safe_and_close(dtype):
    views = [(v * 40).detach().requires_grad_() for v in _leaves([(32, 16)] * 2, 5, dtype)]
    labels = torch.arange(32) % 5
    ours = supcon_loss(*views, labels=labels, temperature=0.05)
    assert ours.dtype == torch.float32 and torch.isfinite(ours)
    ref_inputs = [v.detach().double().requires_grad_() for v in views]
    ref = reference_supcon(ref_inputs, labels, 0.05)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=1e-4)
    for a, b in zip(
        torch.autograd.grad(ours, views), torch.autograd.grad(ref, ref_inputs), strict=True
    ):
        assert a.dtype == dtype and torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b.double(), rtol=2e-2, atol=1e-4)


def test_bf16_autocast_keeps_float32_logits():
    z_a, z_b = _leaves([(16, 8), (16, 8)], seed=3)
    labels = torch.arange(16) % 4
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = supcon_loss(z_a, z_b, labels=labels)
    torch.testing.assert_close(loss, supcon_loss(z_a, z_b, labels=labels), rtol=1e-6, atol=1e-6)


def test_learnable_temperature_gets_the_reference_gradient():
    z_a, z_b = _leaves([(6, 4), (6, 4)], seed=4)
    labels = torch.tensor([0, 1, 0, 1, 2, 2])
    t = torch.tensor(0.3, requires_grad=True)
    (g_ours,) = torch.autograd.grad(supcon_loss(z_a, z_b, labels=labels, temperature=t), t)
    (g_ref,) = torch.autograd.grad(reference_supcon([z_a, z_b], labels, t.double()), t)
    torch.testing.assert_close(g_ours.double(), g_ref.double(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: supcon_loss(labels=torch.arange(4)), "at least 1 view"),
        (lambda: supcon_loss(torch.randn(4, 3), labels=torch.arange(5)), "labels"),
        (lambda: supcon_loss(torch.randn(4, 3), labels=torch.zeros(4, 1)), "labels"),
        (lambda: supcon_loss(torch.randn(4, 3), torch.randn(5, 3), labels=torch.arange(4)), "1"),
        (lambda: supcon_loss(torch.randn(4), labels=torch.arange(4)), "2-D"),
        (
            lambda: supcon_loss(torch.randn(4, 3), labels=torch.arange(4), temperature=0.0),
            "temperature",
        ),
        (
            lambda: supcon_loss(torch.randn(4, 3), labels=torch.arange(4), temperature=-1),
            "temperature",
        ),
        (lambda: supcon_loss(torch.randn(4, 3), labels=torch.arange(4), gather=True), "gather"),
        (lambda: SupConLoss(temperature=0), "temperature"),
        (lambda: SupConLoss(gather=True), "gather"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_module_equals_function():
    z_a, z_b = _leaves([(6, 4), (6, 4)], seed=8)
    labels = torch.tensor([0, 0, 1, 1, 2, 3])
    torch.testing.assert_close(
        SupConLoss(0.2)(z_a, z_b, labels=labels),
        supcon_loss(z_a, z_b, labels=labels, temperature=0.2),
    )
