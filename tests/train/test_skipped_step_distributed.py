"""Two gloo processes, an inf pixel in the batch of one of them: both skip the step (the
decision agrees across processes), both keep every state bit-identical, rank 0 warns
naming the process and the item, and both go on training in step."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch

from contrastkit.nn.sync_batchnorm import convert_sync_batchnorm
from contrastkit.train.guards import NonFiniteStepWarning, weights_finite
from tests.helpers.distributed import run_distributed
from tests.train.test_skipped_step import (
    POISON,
    STEPS,
    Poisoned,
    _method,
    _trainer,
    assert_identical,
    snapshot,
)

pytestmark = pytest.mark.distributed


def _on_rank(rank: int, world: int, name: str, sync: bool) -> dict:
    extra = {"shuffle_bn": True} if name == "moco" else {}
    method = _method(name, gather=True, **extra)
    if sync:
        convert_sync_batchnorm(method)
    source = Poisoned(POISON, rank=1)
    trainer = _trainer(method, None, batch_size=32)  # 16 items per process
    source.trainer = trainer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = trainer.fit(source)
    messages = [str(w.message) for w in caught if issubclass(w.category, NonFiniteStepWarning)]
    losses = [row["loss"] for row in result.history if "loss" in row]
    return {
        "before": source.states["before"],
        "after": source.states["after"],
        "end": snapshot(trainer),
        "finite": weights_finite(method),
        "skipped": trainer.guard.total,
        "item": source.poisoned_item,
        "messages": messages,
        "losses": losses,
    }


@pytest.mark.parametrize(
    ("name", "sync"), [("simclr", False), ("moco", True)], ids=["simclr-local-bn", "moco-sync-bn"]
)
def test_a_bad_batch_on_one_process_is_skipped_by_both_leaving_them_unchanged(
    tmp_path: Path, name: str, sync: bool
) -> None:
    ranks = run_distributed(_on_rank, 2, tmp_path, name, sync)
    for rank, got in enumerate(ranks):
        assert_identical(got["after"], got["before"], f"rank {rank}")
        assert got["skipped"] == 1 and got["finite"]
        assert len(got["losses"]) == STEPS - 1 and all(math.isfinite(v) for v in got["losses"])
    assert ranks[0]["item"] is None and ranks[1]["item"] is not None  # only rank 1's was bad
    (message,) = ranks[0]["messages"]
    assert f"step {POISON} skipped (" in message and "process 1: loss" in message
    assert f"view 0 of 1 item(s) (positions [{ranks[1]['item']}])" in message
    assert ranks[1]["messages"] == []  # rank 0 speaks for the run
    for key, value in ranks[0]["end"]["state"].items():  # the processes stay in step
        if "running_" not in key and "num_batches" not in key:  # per process without sync
            torch.testing.assert_close(ranks[1]["end"]["state"][key], value, rtol=1e-5, atol=1e-6)
