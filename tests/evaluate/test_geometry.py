"""effective_rank (from the Gram matrix's eigenvalues) against the singular values."""

from __future__ import annotations

import pytest
import torch

from contrastkit.evaluate.geometry import effective_rank


def reference_effective_rank(z: torch.Tensor, centred: bool) -> float:
    z = z.double()
    s = torch.linalg.svdvals(z - z.mean(dim=0) if centred else z)
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


@pytest.mark.parametrize("shape", [(64, 200), (200, 64), (50, 50)])
@pytest.mark.parametrize("centred", [True, False])
@pytest.mark.parametrize("rank", [None, 1, 7])
def test_matches_the_singular_value_reference(shape, centred, rank):
    g = torch.Generator().manual_seed(sum(shape) + (rank or 0))
    n, d = shape
    if rank is None:
        z = torch.randn(n, d, generator=g) * torch.linspace(0.01, 3, d)
    else:
        z = torch.randn(n, rank, generator=g) @ torch.randn(rank, d, generator=g) + 0.5
    got, want = effective_rank(z, centred=centred), reference_effective_rank(z, centred)
    assert got == pytest.approx(want, rel=1e-5)


def test_a_point_and_a_line():
    assert effective_rank(torch.ones(10, 4)) == 0.0
    line = torch.arange(10.0)[:, None] * torch.tensor([[1.0, 2.0, 3.0]])
    assert effective_rank(line) == pytest.approx(1.0, rel=1e-6)
