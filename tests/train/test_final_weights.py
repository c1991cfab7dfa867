"""Weights that are not finite are never saved: no checkpoint, no encoder.safetensors, so a
resumed run cannot replace a good encoder (or the last good checkpoint) with a broken one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contrastkit.train import checkpoint as ckpt
from contrastkit.train.guards import NonFiniteError, weights_finite
from tests.helpers.sources import NoisyPairs
from tests.train.test_guards import Flaky, _trainer


class Poisoned(Flaky):
    """Flaky SimCLR whose weights turn NaN after optimiser step `at` (not through a loss:
    the guard of non-finite steps cannot see it)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.steps_done = at, 0

    def on_step_end(self, progress: float) -> None:
        super().on_step_end(progress)
        self.steps_done += 1
        if self.steps_done == self.at:
            with torch.no_grad():
                next(self.encoder.parameters()).fill_(float("nan"))


def test_weights_finite() -> None:
    method = Poisoned(at=1)
    assert weights_finite(method)
    method.on_step_end(0.5)
    assert not weights_finite(method)


def test_a_resumed_run_with_broken_weights_keeps_the_good_encoder(tmp_path: Path) -> None:
    _trainer(Flaky(), tmp_path, steps=2).fit(NoisyPairs())
    encoder = (tmp_path / "encoder.safetensors").read_bytes()
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["step_00000002.pt"]

    trainer = _trainer(Poisoned(at=2), tmp_path, steps=4)  # checkpoints every 2 steps
    with pytest.raises(NonFiniteError, match="not finite at step 4"):
        trainer.fit(NoisyPairs(), resume=True)
    assert (tmp_path / "encoder.safetensors").read_bytes() == encoder
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["step_00000002.pt"]
