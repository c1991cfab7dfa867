"""The label-free criterion of `tune-views`: RankMe (Garrido et al. 2023), the effective
rank of the uncentred validation embeddings, against a plain reference and at its
extremes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from contrastkit.evaluate.geometry import effective_rank


def _plain_rankme(z: np.ndarray) -> float:
    """exp(entropy of the singular values of Z normalised to sum 1), as in the paper."""
    s = np.linalg.svd(z, compute_uv=False)
    total = sum(s)
    entropy = 0.0
    for value in s:
        p = value / total
        if p > 0:
            entropy -= p * math.log(p)
    return math.exp(entropy)


@pytest.mark.parametrize("shape", [(50, 8), (200, 32), (16, 64)])
def test_matches_a_plain_reference_on_random_matrices(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    z = rng.normal(size=shape) @ np.diag(np.linspace(0.1, 3.0, shape[1])) + rng.normal(
        size=shape[1]
    )
    got = effective_rank(torch.from_numpy(z).float(), centred=False)
    assert got == pytest.approx(_plain_rankme(z), rel=1e-4)
    centred = effective_rank(torch.from_numpy(z).float())  # the collapse monitor's
    assert centred == pytest.approx(_plain_rankme(z - z.mean(axis=0)), rel=1e-4)


def test_collapsed_embeddings_score_lowest() -> None:
    g = torch.Generator().manual_seed(0)
    n, d = 400, 32
    isotropic = torch.randn(n, d, generator=g)
    low_rank = torch.randn(n, 4, generator=g) @ torch.randn(4, d, generator=g)
    centre = torch.randn(1, d, generator=g)
    collapsed = centre + 1e-4 * torch.randn(n, d, generator=g)  # one point, with jitter
    scores = [effective_rank(z, centred=False) for z in (isotropic, low_rank, collapsed)]
    assert scores[0] > 0.8 * d  # near D when spread over every dimension
    assert 2.0 < scores[1] < 4.01
    assert scores[2] == pytest.approx(1.0, abs=0.05)  # the lowest a non-zero matrix has
    assert scores == sorted(scores, reverse=True)
    # centring would read the jitter as the representation: RankMe does not centre
    assert effective_rank(collapsed) > 0.8 * d
