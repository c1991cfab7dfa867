"""A step skipped as non-finite leaves the run exactly as it was, for every image method:
parameters, BatchNorm statistics, queues, momentum networks, counters and optimiser state
bit-identical; a warning names the step and the item; the next steps train and stay finite."""

from __future__ import annotations

import copy
import json
import math
import warnings
from pathlib import Path

import pytest
import torch

from contrastkit.encoders import CompactCNN
from contrastkit.methods import METHODS, Batch
from contrastkit.train.guards import NonFiniteStepWarning, weights_finite
from contrastkit.train.trainer import Trainer

NAMES = sorted(n for n, c in METHODS.items() if c.towers == 1 and c.modalities is None)  # images
SMALL = {
    "moco": {"queue_size": 64},
    "nnclr": {"queue_size": 64},
    "swav": {"n_prototypes": 10, "queue_size": 32, "freeze_prototypes_steps": 2},
    "multi_similarity": {"memory_size": 64},  # the cross-batch memory is left unchanged
    "proxy_anchor": {"num_classes": 4},
}
POISON = 4  # the step whose batch holds an inf pixel
STEPS = 7


def snapshot(trainer: Trainer) -> dict:
    """Everything a step could change: the method's state dict (parameters, buffers, queues,
    momentum copies), its plain attributes (BYOL's momentum) and the optimiser's state."""
    method = trainer.method
    return {
        "state": {k: v.detach().clone() for k, v in method.state_dict().items()},
        "attrs": {k: v for k, v in vars(method).items() if isinstance(v, int | float | bool)},
        "optimizer": copy.deepcopy(trainer.optimizer.state_dict()),
    }


def assert_identical(got: dict, want: dict, where: str = "") -> None:
    """Equal dicts, tensors bit for bit (a NaN is never equal)."""
    assert got.keys() == want.keys(), where
    for key, value in want.items():
        if isinstance(value, dict):
            assert_identical(got[key], value, f"{where}.{key}")
        elif isinstance(value, torch.Tensor):
            assert torch.equal(got[key], value), f"{where}.{key} changed"
        else:
            assert got[key] == value, f"{where}.{key}: {got[key]} != {value}"


class Poisoned:
    """Random 12x12 images with two fixed noisy views; the batch of step `poison` (on rank
    `rank`, if given) has one inf pixel in view 0 of its second item. Keeps the trainer's
    state at the start of that step and of the next (after the skipped step)."""

    def __init__(self, poison: int, n: int = 64, rank: int | None = None) -> None:
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(n, 1, 12, 12, generator=g)
        self.noise = [0.2 * torch.randn(n, 1, 12, 12, generator=g) for _ in range(2)]
        self.labels = torch.arange(n) % 4
        self.poison, self.rank, self.calls = poison, rank, 0
        self.trainer: Trainer | None = None
        self.states: dict[str, dict] = {}
        self.poisoned_item: int | None = None

    def __len__(self) -> int:
        return len(self.x)

    def order(self, seed: int, batch_size: int) -> torch.Tensor:
        return torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))

    def batch(self, index: torch.Tensor, generator: torch.Generator) -> Batch:
        self.calls += 1
        if self.calls in (self.poison, self.poison + 1):
            self.states["before" if self.calls == self.poison else "after"] = snapshot(self.trainer)
        views = [self.x[index] + e[index] for e in self.noise]
        mine = self.rank is None or torch.distributed.get_rank() == self.rank
        if self.calls == self.poison and mine:
            views[0][1, 0, 5, 7] = float("inf")
            self.poisoned_item = int(index[1])
        return Batch(views, labels=self.labels[index], index=index)


def _method(name: str, **extra):
    torch.manual_seed(0)
    kwargs = {**SMALL.get(name, {}), **extra}
    return METHODS[name](CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=16, **kwargs)


def _trainer(method, run_dir: Path | None, batch_size: int = 16) -> Trainer:
    return Trainer(method, optimizer="sgd", lr=0.05, warmup=0.0, final_lr_ratio=1.0,
                   batch_size=batch_size, steps=STEPS, precision="fp32", progress=False,
                   run_dir=run_dir, checkpoint_every=100, log_every=1)  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_a_skipped_step_leaves_every_state_bit_identical_and_training_goes_on(
    tmp_path: Path, name: str
) -> None:
    source = Poisoned(POISON)
    trainer = _trainer(_method(name), tmp_path)
    source.trainer = trainer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = trainer.fit(source)

    before, after = source.states["before"], source.states["after"]
    assert_identical(after, before, name)  # weights, BN statistics, queues, optimiser

    end = {k: v for k, v in trainer.method.state_dict().items()}
    assert weights_finite(trainer.method), f"{name}: non-finite state after the skip"
    changed = [k for k, v in after["state"].items() if not torch.equal(end[k], v)]
    assert any(k.startswith("encoder.") for k in changed), f"{name} stopped training"
    for queue in (k for k in end if k.endswith(".rows")):  # MoCo, SwAV, NNCLR: still filling
        assert queue in changed, f"{name}: {queue} no longer written"
    losses = [row["loss"] for row in result.history if "loss" in row]
    assert len(losses) == STEPS - 1 and all(math.isfinite(v) for v in losses)

    assert result.skipped_steps == 1 and trainer.guard.total == 1
    skipped = [w for w in caught if issubclass(w.category, NonFiniteStepWarning)]
    assert len(skipped) == 1
    assert f"step {POISON} skipped (" in str(skipped[0].message)
    item = source.poisoned_item
    assert f"view 0 of 1 item(s) (positions [{item}])" in str(skipped[0].message)
    (record,) = [json.loads(line) for line in (tmp_path / "bad_steps.jsonl").open()]
    assert record["step"] == POISON and record["non_finite_inputs"] == {"view 0": [item]}


def test_the_skipped_count_survives_a_resume(tmp_path: Path) -> None:
    source = Poisoned(2)
    first = _trainer(_method("simclr"), tmp_path)
    source.trainer = first
    with pytest.warns(NonFiniteStepWarning, match="step 2 skipped"):
        first.fit(source, stop_at_step=3)
    second = _trainer(_method("simclr"), tmp_path)
    result = second.fit(Poisoned(poison=-1), resume=True)
    assert result.steps == STEPS and result.skipped_steps == 1
