"""Shuffling BN across 2 gloo processes: a permutation of the global batch, undone exactly."""

from __future__ import annotations

import pytest
import torch

from contrastkit.nn.distributed import shuffle_across_processes, unshuffle_across_processes
from tests.helpers.distributed import run_distributed

pytestmark = pytest.mark.distributed


def _shuffle_roundtrip(rank: int, world: int) -> dict:
    torch.manual_seed(100 + rank)  # rank 0's permutation must win
    x = torch.arange(6, dtype=torch.float32).view(3, 2) + 100 * rank
    shuffled, order = shuffle_across_processes(x)
    y = shuffled * 2 + 1  # any row-wise function
    return {
        "x": x,
        "shuffled": shuffled,
        "order": order,
        "back": unshuffle_across_processes(y, order),
    }


def test_shuffle_then_unshuffle_is_exact(tmp_path):
    results = run_distributed(_shuffle_roundtrip, 2, tmp_path)
    everything = torch.cat([r["x"] for r in results])
    assert torch.equal(results[0]["order"], results[1]["order"])
    dealt = torch.cat([r["shuffled"] for r in results])
    assert torch.equal(dealt, everything[results[0]["order"]])
    assert not torch.equal(dealt, everything)  # a real shuffle (6! - 1 other orders)
    for r in results:
        assert torch.equal(r["back"], r["x"] * 2 + 1)


def test_single_process_is_identity():
    x = torch.randn(4, 3)
    y, order = shuffle_across_processes(x)
    assert torch.equal(y, x)
    assert torch.equal(unshuffle_across_processes(y, order), x)
