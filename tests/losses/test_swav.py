"""sinkhorn's marginals and invariances, and swav_loss against a slow loop reference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.swav import SwAVLoss, sinkhorn, swav_loss


def official_sinkhorn(scores, epsilon, iterations):
    """The official code's distributed_sinkhorn on one process, in float64, no shift."""
    q = torch.exp(scores.double() / epsilon).T
    n_prototypes, n_items = q.shape
    q = q / q.sum()
    for _ in range(iterations):
        q = q / q.sum(dim=1, keepdim=True) / n_prototypes
        q = q / q.sum(dim=0, keepdim=True) / n_items
    return (q * n_items).T


def reference_swav(scores, codes, temperature):
    """Loop over global views, other views, rows and prototypes; float64."""
    n_views, total = len(scores), 0.0
    for v, q in enumerate(codes):
        subloss = 0.0
        for t in range(n_views):
            if t == v:
                continue
            rows = 0.0
            for i in range(q.shape[0]):
                log_p = torch.log_softmax(scores[t][i].double() / temperature, dim=0)
                rows = rows - sum(q[i, k].double() * log_p[k] for k in range(q.shape[1]))
            subloss = subloss + rows / q.shape[0]
        total = total + subloss / (n_views - 1)
    return total / len(codes)


def _cosine_scores(n_items, n_prototypes, seed, dim=16):
    g = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(n_items, dim, generator=g), dim=1)
    c = F.normalize(torch.randn(n_prototypes, dim, generator=g), dim=1)
    return z @ c.T


@pytest.mark.parametrize(("n_items", "n_prototypes"), [(1, 3), (16, 4), (64, 10), (40, 100)])
@pytest.mark.parametrize("iterations", [1, 3, 10])
def test_codes_are_nonnegative_and_sum_to_one_per_item(n_items, n_prototypes, iterations):
    codes = sinkhorn(_cosine_scores(n_items, n_prototypes, seed=n_items), iterations=iterations)
    assert codes.shape == (n_items, n_prototypes) and codes.dtype == torch.float32
    assert (codes >= 0).all()
    torch.testing.assert_close(codes.sum(dim=1), torch.ones(n_items), rtol=0, atol=1e-6)


def test_prototype_totals_approach_equipartition():
    n_items, n_prototypes = 64, 10
    scores = _cosine_scores(n_items, n_prototypes, seed=0)
    share = n_items / n_prototypes

    def error(iterations):
        codes = sinkhorn(scores, epsilon=0.05, iterations=iterations)
        return (codes.sum(dim=0) - share).abs().max().item()

    assert error(100) < 1e-4 * share  # converged
    assert error(3) < error(1)  # improving ...
    assert error(3) < 0.5 * share  # ... and already loose-but-close after SwAV's 3
    assert error(10) < error(3)


@pytest.mark.parametrize("epsilon", [0.05, 0.2])
@pytest.mark.parametrize("iterations", [1, 3, 20])
def test_matches_the_official_algorithm(epsilon, iterations):
    scores = _cosine_scores(32, 8, seed=3)
    torch.testing.assert_close(
        sinkhorn(scores, epsilon=epsilon, iterations=iterations).double(),
        official_sinkhorn(scores, epsilon, iterations),
        rtol=1e-5,
        atol=1e-6,
    )


def test_invariances_to_constants():
    scores = _cosine_scores(48, 6, seed=4)
    codes = sinkhorn(scores, iterations=3)
    g = torch.Generator().manual_seed(1)
    # One constant, or one per prototype: divided out by the first normalisations, exactly.
    torch.testing.assert_close(sinkhorn(scores + 3.0, iterations=3), codes, rtol=1e-5, atol=1e-6)
    per_prototype = torch.randn(1, 6, generator=g)
    torch.testing.assert_close(
        sinkhorn(scores + per_prototype, iterations=3), codes, rtol=1e-5, atol=1e-6
    )
    # One per item: a column scaling of Q, absorbed once the iterations have converged.
    per_item = torch.rand(48, 1, generator=g) - 0.5
    converged = sinkhorn(scores, iterations=100)
    torch.testing.assert_close(
        sinkhorn(scores + per_item, iterations=100), converged, rtol=1e-4, atol=1e-5
    )


def test_large_scores_do_not_overflow():
    # scores / epsilon up to 120: a plain exp() gives inf (NaN codes); the shift does not.
    scores = _cosine_scores(32, 5, seed=5)
    codes = sinkhorn(scores + 5.0, epsilon=0.05)
    assert torch.isinf(torch.exp((scores + 5.0) / 0.05)).any()
    assert torch.isfinite(codes).all()
    torch.testing.assert_close(codes, sinkhorn(scores, epsilon=0.05), rtol=1e-5, atol=1e-6)


def test_no_gradient_and_float32_for_low_precision_inputs():
    scores = _cosine_scores(32, 8, seed=6).requires_grad_()
    codes = sinkhorn(scores)
    assert not codes.requires_grad
    low = sinkhorn(scores.detach().bfloat16())
    assert low.dtype == torch.float32
    expected = sinkhorn(scores.detach().bfloat16().float())
    torch.testing.assert_close(low, expected)


@pytest.mark.parametrize(("n_global", "n_local"), [(2, 0), (2, 2), (1, 2), (3, 1)])
@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_swav_loss_matches_reference_value_and_gradient(n_global, n_local, temperature):
    g = torch.Generator().manual_seed(10 * n_global + n_local)
    scores = [torch.randn(6, 5, generator=g).requires_grad_() for _ in range(n_global + n_local)]
    codes = [sinkhorn(s.detach()) for s in scores[:n_global]]
    ours = swav_loss(scores, codes, temperature=temperature)
    ref = reference_swav(scores, codes, temperature)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-6)
    # With one global view, its own scores are never a prediction: zero gradient.
    g_ref = torch.autograd.grad(ref, scores, allow_unused=True, materialize_grads=True)
    for a, b in zip(torch.autograd.grad(ours, scores), g_ref, strict=True):
        torch.testing.assert_close(a.double(), b.double(), rtol=1e-4, atol=1e-7)


def test_swav_loss_treats_codes_as_constants_and_low_precision_is_safe():
    g = torch.Generator().manual_seed(0)
    scores = [(torch.randn(8, 4, generator=g) * 30).bfloat16().requires_grad_() for _ in range(3)]
    codes = [torch.softmax(torch.randn(8, 4, generator=g), 1).requires_grad_() for _ in range(2)]
    loss = swav_loss(scores, codes, temperature=0.05)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    grads = torch.autograd.grad(loss, scores + codes, allow_unused=True)
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads[:3])
    assert all(gr is None for gr in grads[3:])
    ref = reference_swav([s.detach() for s in scores], [c.detach() for c in codes], 0.05)
    torch.testing.assert_close(loss.double(), ref, rtol=1e-4, atol=1e-4)


def test_swapped_prediction_prefers_matching_views():
    # Scores that agree with the codes give a lower loss than scores that do not.
    scores = _cosine_scores(16, 4, seed=7)
    codes = [sinkhorn(scores), sinkhorn(scores)]
    matching = swav_loss([scores, scores], codes)
    shuffled = swav_loss([scores, scores[torch.randperm(16)]], codes)
    assert matching < shuffled


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sinkhorn(torch.randn(8)), "scores"),
        (lambda: sinkhorn(torch.randn(0, 4)), "scores"),
        (lambda: sinkhorn(torch.randn(8, 4), epsilon=0), "epsilon"),
        (lambda: sinkhorn(torch.randn(8, 4), iterations=0), "iterations"),
        (lambda: sinkhorn(torch.randn(8, 4), gather=True), "gather"),
        (lambda: swav_loss([torch.randn(8, 4)], [torch.rand(8, 4)]), "at least 2 views"),
        (lambda: swav_loss([torch.randn(8, 4)] * 2, []), "codes"),
        (lambda: swav_loss([torch.randn(8, 4)] * 2, [torch.rand(8, 4)] * 3), "codes"),
        (lambda: swav_loss([torch.randn(8, 4), torch.randn(7, 4)], [torch.rand(8, 4)]), "scores"),
        (lambda: swav_loss([torch.randn(8, 4)] * 2, [torch.rand(8, 5)]), "codes\\[0\\]"),
        (lambda: swav_loss([torch.randn(8)] * 2, [torch.rand(8)]), "2-D"),
        (
            lambda: swav_loss([torch.randn(8, 4)] * 2, [torch.rand(8, 4)], temperature=0),
            "temperature",
        ),
        (lambda: SwAVLoss(epsilon=-1), "epsilon"),
        (lambda: SwAVLoss(iterations=0), "iterations"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_module_equals_function():
    scores = [_cosine_scores(12, 5, seed=s) for s in range(4)]
    codes = [sinkhorn(s, epsilon=0.1, iterations=5) for s in scores[:2]]
    torch.testing.assert_close(
        SwAVLoss(temperature=0.2, epsilon=0.1, iterations=5)(scores),
        swav_loss(scores, codes, temperature=0.2),
    )
