"""nt_xent and info_nce against slow references written with loops, plus closed forms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import InfoNCELoss, NTXentLoss, info_nce, nt_xent


def reference_nt_xent(views, temperature, negatives=None):
    """Loop over anchors: -mean over positives of log(exp(s_pos) / sum_{k != self} exp(s_k))."""
    z = [F.normalize(v.double(), dim=1) for v in views]
    negs = [] if negatives is None else list(F.normalize(negatives.double(), dim=1))
    n_views, n = len(z), z[0].shape[0]
    total, count = 0.0, 0
    for v in range(n_views):
        for i in range(n):
            anchor = z[v][i]
            terms = [
                anchor @ z[w][j] / temperature
                for w in range(n_views)
                for j in range(n)
                if (w, j) != (v, i)
            ]
            terms += [anchor @ m / temperature for m in negs]
            log_denominator = torch.logsumexp(torch.stack(terms), dim=0)
            for w in range(n_views):
                if w != v:
                    total = total + log_denominator - anchor @ z[w][i] / temperature
                    count += 1
    return total / count


def paper_nt_xent(z_a, z_b, temperature):
    """SimCLR's Algorithm 1: rows interleaved as (2k-1, 2k), l(i, j) summed over both orders."""
    z = torch.stack([z_a, z_b], dim=1).reshape(-1, z_a.shape[1]).double()
    sim = F.cosine_similarity(z[:, None], z[None], dim=2) / temperature
    n2 = z.shape[0]

    def ell(i, j):
        others = torch.cat([sim[i, :i], sim[i, i + 1 :]])
        return -(sim[i, j] - torch.logsumexp(others, dim=0))

    return sum(ell(2 * k, 2 * k + 1) + ell(2 * k + 1, 2 * k) for k in range(n2 // 2)) / n2


def reference_info_nce(query, key, temperature, negatives=None, symmetric=False):
    q = F.normalize(query.double(), dim=1)
    k = F.normalize(key.double(), dim=1)
    negs = [] if negatives is None else list(F.normalize(negatives.double(), dim=1))

    def one_way(a, b, extra):
        total = 0.0
        for i in range(a.shape[0]):
            terms = [a[i] @ b[j] / temperature for j in range(b.shape[0])]
            terms += [a[i] @ m / temperature for m in extra]
            total = total + torch.logsumexp(torch.stack(terms), 0) - a[i] @ b[i] / temperature
        return total / a.shape[0]

    loss = one_way(q, k, negs)
    if symmetric:
        loss = (loss + one_way(k, q, [])) / 2
    return loss


def _leaves(shapes, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g).to(dtype).requires_grad_() for s in shapes]


def _grads(loss, tensors):
    return torch.autograd.grad(loss, tensors)


@pytest.mark.parametrize("n", [1, 2, 5, 16])
@pytest.mark.parametrize("n_views", [2, 3, 4])
@pytest.mark.parametrize("temperature", [0.05, 0.5, 2.0])
def test_nt_xent_matches_reference_value_and_gradient(n, n_views, temperature):
    views = _leaves([(n, 8)] * n_views, seed=n * 100 + n_views)
    ours = nt_xent(*views, temperature=temperature)
    ref = reference_nt_xent(views, temperature)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    for g_ours, g_ref in zip(_grads(ours, views), _grads(ref, views), strict=True):
        torch.testing.assert_close(g_ours.double(), g_ref.double(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("n_neg", [1, 7])
def test_nt_xent_with_extra_negatives(n_neg):
    z_a, z_b, negs = _leaves([(6, 8), (6, 8), (n_neg, 8)], seed=3)
    ours = nt_xent(z_a, z_b, temperature=0.3, negatives=negs)
    ref = reference_nt_xent([z_a, z_b], 0.3, negs)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    for g_ours, g_ref in zip(
        _grads(ours, [z_a, z_b, negs]), _grads(ref, [z_a, z_b, negs]), strict=True
    ):
        torch.testing.assert_close(g_ours.double(), g_ref.double(), rtol=1e-4, atol=1e-6)


def test_nt_xent_matches_paper_formulation():
    z_a, z_b = _leaves([(7, 5), (7, 5)], seed=11)
    ours = nt_xent(z_a, z_b, temperature=0.5)
    ref = paper_nt_xent(z_a, z_b, 0.5)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-6)
    for g_ours, g_ref in zip(_grads(ours, [z_a, z_b]), _grads(ref, [z_a, z_b]), strict=True):
        torch.testing.assert_close(g_ours.double(), g_ref.double(), rtol=1e-4, atol=1e-6)


def test_nt_xent_is_symmetric_and_scale_invariant():
    z_a, z_b = _leaves([(9, 4), (9, 4)], seed=5)
    loss = nt_xent(z_a, z_b, temperature=0.2)
    torch.testing.assert_close(loss, nt_xent(z_b, z_a, temperature=0.2))
    torch.testing.assert_close(loss, nt_xent(3 * z_a, 0.1 * z_b, temperature=0.2))


@pytest.mark.parametrize("n", [2, 8])
@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_nt_xent_closed_forms(n, temperature):
    # Collapse: every similarity is 1, the loss is log(2N - 1).
    same = torch.ones(n, 3)
    torch.testing.assert_close(
        nt_xent(same, same, temperature=temperature),
        torch.tensor(math.log(2 * n - 1)),
    )
    # Orthonormal items, identical views: positive similarity 1, all negatives 0.
    eye = torch.eye(n, n + 2)
    expected = math.log(1 + (2 * n - 2) * math.exp(-1 / temperature))
    torch.testing.assert_close(
        nt_xent(eye, eye.clone(), temperature=temperature), torch.tensor(expected)
    )


@pytest.mark.parametrize("n", [1, 4, 13])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("n_neg", [0, 5])
def test_info_nce_matches_reference(n, symmetric, n_neg):
    q, k, negs = _leaves([(n, 6), (n, 6), (max(n_neg, 1), 6)], seed=n + 7 * n_neg)
    negs_arg = negs if n_neg else None
    ours = info_nce(q, k, temperature=0.25, negatives=negs_arg, symmetric=symmetric)
    ref = reference_info_nce(q, k, 0.25, negs_arg, symmetric)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-5, atol=1e-5)
    inputs = [q, k] + ([negs] if n_neg else [])
    for g_ours, g_ref in zip(_grads(ours, inputs), _grads(ref, inputs), strict=True):
        torch.testing.assert_close(g_ours.double(), g_ref.double(), rtol=1e-4, atol=1e-6)


def test_info_nce_symmetric_is_symmetric_in_query_and_key():
    q, k = _leaves([(10, 6), (10, 6)], seed=1)
    torch.testing.assert_close(
        info_nce(q, k, symmetric=True, temperature=0.1),
        info_nce(k, q, symmetric=True, temperature=0.1),
    )


def test_info_nce_closed_form_orthonormal():
    n, t = 6, 0.2
    eye = torch.eye(n)
    expected = math.log(1 + (n - 1) * math.exp(-1 / t))
    torch.testing.assert_close(info_nce(eye, eye, temperature=t), torch.tensor(expected))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs_are_safe_and_close(dtype):
    # Large-norm inputs and a small temperature: naive exp() in bf16/fp16 would overflow.
    views = [
        (v * 50).detach().requires_grad_() for v in _leaves([(64, 32)] * 2, seed=9, dtype=dtype)
    ]
    ours = nt_xent(*views, temperature=0.05)
    assert ours.dtype == torch.float32 and torch.isfinite(ours)
    ref_inputs = [v.detach().double().requires_grad_() for v in views]
    ref = reference_nt_xent(ref_inputs, 0.05)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=1e-4)
    g_ours = _grads(ours, views)
    g_ref = _grads(ref, ref_inputs)
    for a, b in zip(g_ours, g_ref, strict=True):
        assert a.dtype == dtype and torch.isfinite(a).all()
        torch.testing.assert_close(a.double(), b.double(), rtol=2e-2, atol=1e-4)


def test_bf16_autocast_keeps_float32_logits():
    z_a, z_b = _leaves([(32, 16), (32, 16)], seed=2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nt_xent(z_a, z_b, temperature=0.1)
    torch.testing.assert_close(loss, nt_xent(z_a, z_b, temperature=0.1), rtol=1e-6, atol=1e-6)


def test_learnable_temperature_gets_a_gradient():
    z_a, z_b = _leaves([(8, 4), (8, 4)], seed=4)
    t = torch.tensor(0.3, requires_grad=True)
    ours = info_nce(z_a, z_b, temperature=t, symmetric=True)
    ref = reference_info_nce(z_a, z_b, t.double(), symmetric=True)
    (g_ours,) = torch.autograd.grad(ours, t)
    (g_ref,) = torch.autograd.grad(ref, t)
    torch.testing.assert_close(g_ours.double(), g_ref.double(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: nt_xent(torch.randn(4, 3), temperature=0.1), "at least 2 views"),
        (lambda: nt_xent(torch.randn(4, 3), torch.randn(5, 3)), "views\\[1\\]"),
        (lambda: nt_xent(torch.randn(4, 3), torch.randn(4, 3), temperature=0), "temperature"),
        (lambda: nt_xent(torch.randn(4), torch.randn(4)), "2-D"),
        (
            lambda: nt_xent(torch.randn(4, 3), torch.randn(4, 3), negatives=torch.randn(2, 5)),
            "negatives",
        ),
        (lambda: info_nce(torch.randn(4, 3), torch.randn(4, 2)), "key"),
        (lambda: info_nce(torch.randn(4, 3), torch.randn(4, 3), temperature=-1.0), "temperature"),
        (lambda: nt_xent(torch.randn(4, 3), torch.randn(4, 3), gather=True), "gather"),
        (lambda: NTXentLoss(temperature=0.0), "temperature"),
        (lambda: InfoNCELoss(gather=True), "gather"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_modules_equal_functions():
    z_a, z_b, negs = _leaves([(5, 4), (5, 4), (3, 4)], seed=8)
    torch.testing.assert_close(
        NTXentLoss(0.3)(z_a, z_b, negatives=negs),
        nt_xent(z_a, z_b, temperature=0.3, negatives=negs),
    )
    torch.testing.assert_close(
        InfoNCELoss(0.3, symmetric=True)(z_a, z_b),
        info_nce(z_a, z_b, temperature=0.3, symmetric=True),
    )
