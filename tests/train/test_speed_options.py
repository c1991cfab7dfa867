"""CPU speed options: the fused AdamW kernel and torch.compile change the speed, not the result."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.encoders.vision import as_encoder
from contrastkit.methods import SimCLR
from contrastkit.train.optim import build_optimizer
from contrastkit.train.trainer import Trainer
from tests.helpers.sources import NoisyPairs


def _method() -> SimCLR:
    torch.manual_seed(0)
    body = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16))
    head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8))
    return SimCLR(as_encoder(body, (12,)), head=head, temperature=0.2)


def test_fused_adamw_takes_the_same_steps_as_the_plain_one() -> None:
    fused_model, plain_model = _method(), _method()
    fused = build_optimizer(fused_model, "adamw", lr=0.1, weight_decay=1e-4)
    assert fused.defaults.get("fused") is True
    plain = torch.optim.AdamW(
        [
            {"params": [p for p in plain_model.parameters() if p.ndim > 1], "weight_decay": 1e-4},
            {"params": [p for p in plain_model.parameters() if p.ndim <= 1], "weight_decay": 0.0},
        ],
        lr=0.1,
    )
    source = NoisyPairs()
    for step in range(3):
        batch = source.batch(torch.arange(step * 16, step * 16 + 16), torch.Generator())
        for model, opt in ((fused_model, fused), (plain_model, plain)):
            opt.zero_grad()
            model.training_step(batch).loss.backward()
            opt.step()
    for a, b in zip(fused_model.parameters(), plain_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_compiled_training_matches_eager_and_keeps_checkpoint_keys(tmp_path) -> None:
    results = {}
    for compiled in (False, True):
        method = _method()
        trainer = Trainer(method, optimizer="sgd", lr=0.1, batch_size=32, steps=3,
                          precision="fp32", progress=False, compile=compiled,
                          run_dir=tmp_path / str(compiled))  # fmt: skip
        trainer.fit(NoisyPairs())
        results[compiled] = method.state_dict()
    assert results[True].keys() == results[False].keys()  # no "_orig_mod." prefixes
    for key, value in results[False].items():
        torch.testing.assert_close(results[True][key], value, rtol=1e-4, atol=1e-5)
