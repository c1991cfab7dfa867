"""Multiple-negatives ranking loss against a slow loop reference (value and gradient)."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.losses import info_nce
from contrastkit.losses.ranking import MultipleNegativesRankingLoss, multiple_negatives_ranking


def _reference(anchor, positive, negatives, temperature, symmetric):
    """Row by row in float64: -log softmax over [all positives, all hard negatives]."""

    def unit(v):
        return v / v.norm()

    n = anchor.shape[0]
    columns = [unit(positive[j]) for j in range(n)]
    if negatives is not None:
        negs = negatives if negatives.ndim == 3 else negatives[:, None]
        columns += [unit(negs[i, k]) for i in range(n) for k in range(negs.shape[1])]
    total = 0.0
    for i in range(n):
        logits = [torch.dot(unit(anchor[i]), c) / temperature for c in columns]
        total = total - (logits[i] - torch.logsumexp(torch.stack(logits), 0))
    loss = total / n
    if symmetric:
        back = 0.0
        for i in range(n):
            logits = [torch.dot(unit(positive[i]), unit(anchor[j])) / temperature for j in range(n)]
            back = back - (logits[i] - torch.logsumexp(torch.stack(logits), 0))
        loss = (loss + back / n) / 2
    return loss


@pytest.mark.parametrize("n", [2, 5, 16])
@pytest.mark.parametrize("hard", [None, "one", "three"])
@pytest.mark.parametrize("temperature", [0.05, 0.5])
@pytest.mark.parametrize("symmetric", [False, True])
def test_matches_loop_reference(n, hard, temperature, symmetric):
    g = torch.Generator().manual_seed(n * 31 + int(temperature * 100))
    d = 12
    a = torch.randn(n, d, generator=g, dtype=torch.float64)
    p = torch.randn(n, d, generator=g, dtype=torch.float64)
    neg = None
    if hard == "one":
        neg = torch.randn(n, d, generator=g, dtype=torch.float64)
    elif hard == "three":
        neg = torch.randn(n, 3, d, generator=g, dtype=torch.float64)
    inputs = [t for t in (a, p, neg) if t is not None]
    fast_in = [t.float().requires_grad_() for t in inputs]
    ref_in = [t.clone().requires_grad_() for t in inputs]
    fast = multiple_negatives_ranking(
        fast_in[0],
        fast_in[1],
        fast_in[2] if neg is not None else None,
        temperature=temperature,
        symmetric=symmetric,
    )
    ref = _reference(
        ref_in[0], ref_in[1], ref_in[2] if neg is not None else None, temperature, symmetric
    )
    fast.backward()
    ref.backward()
    torch.testing.assert_close(fast.double(), ref, rtol=1e-5, atol=1e-6)
    for f, r in zip(fast_in, ref_in, strict=True):
        torch.testing.assert_close(f.grad.double(), r.grad, rtol=1e-4, atol=1e-6)


def test_without_hard_negatives_equals_info_nce():
    g = torch.Generator().manual_seed(0)
    a, p = torch.randn(9, 8, generator=g), torch.randn(9, 8, generator=g)
    for symmetric in (False, True):
        torch.testing.assert_close(
            multiple_negatives_ranking(a, p, temperature=0.1, symmetric=symmetric),
            info_nce(a, p, temperature=0.1, symmetric=symmetric),
        )


def test_closed_forms():
    # Orthonormal anchors equal to their positives, negatives orthogonal to all:
    # logit 1/t for the positive, 0 for the other N-1 positives and the N hard negatives.
    n, t = 4, 0.5
    eye = torch.eye(2 * n)
    a, neg = eye[:n], eye[n:]
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + (2 * n - 1)))
    loss = multiple_negatives_ranking(a, a.clone(), neg, temperature=t)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # A hard negative equal to the positive makes the task exactly a coin flip more.
    loss_dup = multiple_negatives_ranking(a, a.clone(), a.clone(), temperature=t)
    assert loss_dup.item() > loss.item()


def test_bf16_close_to_fp32():
    g = torch.Generator().manual_seed(1)
    a, p, n = (torch.randn(32, 64, generator=g) for _ in range(3))
    full = multiple_negatives_ranking(a, p, n, temperature=0.05)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = multiple_negatives_ranking(
            a.bfloat16(), p.bfloat16(), n.bfloat16(), temperature=0.05
        )
    assert half.dtype == torch.float32 and torch.isfinite(half)
    assert half.item() == pytest.approx(full.item(), rel=0.03)


def test_module_and_errors():
    a = torch.randn(4, 8)
    mod = MultipleNegativesRankingLoss(0.1, symmetric=True)
    assert (
        mod(a, a).item() == multiple_negatives_ranking(a, a, temperature=0.1, symmetric=True).item()
    )
    with pytest.raises(ValueError, match=r"anchor and positive must both be \(N, D\)"):
        multiple_negatives_ranking(a, torch.randn(5, 8))
    with pytest.raises(ValueError, match=r"negatives must be .* got \(3, 8\)"):
        multiple_negatives_ranking(a, a, torch.randn(3, 8))
    with pytest.raises(ValueError, match="temperature"):
        multiple_negatives_ranking(a, a, temperature=0.0)
    with pytest.raises(Exception, match="gather"):
        multiple_negatives_ranking(a, a, gather=True)
