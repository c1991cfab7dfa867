"""Trust: non-finite steps skipped, logged and stopped; checkpoints that survive interrupted
writes and refuse pickled code; resume picks the newest loadable checkpoint."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from torch import nn

from contrastkit.encoders.vision import as_encoder
from contrastkit.errors import ContrastkitError
from contrastkit.methods import SimCLR, SimSiam
from contrastkit.train import checkpoint as ckpt
from contrastkit.train.guards import NonFiniteError, NonFiniteStepWarning
from contrastkit.train.trainer import Trainer
from tests.helpers.sources import NoisyPairs


class Flaky(SimCLR):
    """SimCLR whose loss (or one gradient) turns NaN on the chosen calls."""

    def __init__(self, bad_loss=(), bad_grad=()) -> None:
        torch.manual_seed(0)
        body = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16))
        head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8))
        super().__init__(as_encoder(body, (12,)), head=head, temperature=0.2)
        self.bad_loss, self.bad_grad, self.calls = set(bad_loss), set(bad_grad), 0

    def training_step(self, batch):
        self.calls += 1
        out = super().training_step(batch)
        if self.calls in self.bad_loss:
            out.loss = out.loss * float("nan")
        if self.calls in self.bad_grad:
            extra = (self.head[0].weight * 0).sum()  # a gradient of inf * 0 = nan
            extra.register_hook(lambda g: g * float("inf"))
            out.loss = out.loss + extra
        return out


def _trainer(method, run_dir, steps=8, **kw) -> Trainer:
    return Trainer(method, optimizer="sgd", lr=0.1, batch_size=32, steps=steps,
                   precision="fp32", progress=False, run_dir=run_dir, checkpoint_every=2,
                   log_every=1, **kw)  # fmt: skip


def _bad_steps(run_dir: Path) -> list[dict]:
    lines = (run_dir / "bad_steps.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_non_finite_step_is_skipped_logged_and_training_goes_on(tmp_path: Path) -> None:
    method = Flaky(bad_loss={3}, bad_grad={5})
    trainer = _trainer(method, tmp_path)

    with pytest.warns(NonFiniteStepWarning) as caught:
        result = trainer.fit(NoisyPairs())
    assert [str(w.message).split(":")[0] for w in caught] == [
        "step 3 skipped (loss nan)", "step 5 skipped (gradient not finite)",
    ]  # fmt: skip
    assert result.skipped_steps == 2
    assert result.steps == 8 and all(torch.isfinite(p).all() for p in method.parameters())
    records = _bad_steps(tmp_path)
    assert [(r["step"], r["reason"]) for r in records] == [
        (3, "loss nan"), (5, "gradient not finite"),
    ]  # fmt: skip
    assert all(len(r["batch_positions"]) == 32 for r in records)
    assert trainer.guard.total == 2 and trainer.guard.in_a_row == 0
    logged = [row["step"] for row in result.history if "loss" in row]
    assert 3 not in logged and 5 not in logged and 8 in logged


def test_a_skipped_step_leaves_the_weights_unchanged(tmp_path: Path) -> None:
    flaky = Flaky(bad_loss={1})
    _trainer(flaky, None, steps=1).fit(NoisyPairs())
    fresh = Flaky()
    for got, want in zip(flaky.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(got, want)


def test_non_finite_steps_in_a_row_stop_the_run_keeping_the_last_good_checkpoint(
    tmp_path: Path,
) -> None:
    method = Flaky(bad_loss=set(range(5, 100)))  # steps 1-4 fine, then NaN for ever
    trainer = _trainer(method, tmp_path, steps=20, max_bad_steps=3)
    with pytest.raises(NonFiniteError, match=r"3 steps in a row \(up to step 7\)") as info:
        trainer.fit(NoisyPairs())
    assert "bad_steps.jsonl" in str(info.value)
    assert [r["step"] for r in _bad_steps(tmp_path)] == [5, 6, 7]
    saved = ckpt.list_checkpoints(tmp_path / "checkpoints")
    assert [p.name for p in saved] == ["step_00000002.pt", "step_00000004.pt"]  # none at 6
    state = ckpt.load_checkpoint(saved[-1])
    assert state["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["method"].values() if v.is_floating_point())


def test_an_interrupted_checkpoint_write_leaves_the_previous_one_loadable(
    tmp_path: Path, monkeypatch
) -> None:
    first = ckpt.save_checkpoint({"step": 1, "w": torch.ones(3)}, tmp_path, 1)

    def dies_half_way(obj, path) -> None:
        Path(path).write_bytes(b"PK\x03\x04 half a zip file")
        raise OSError("No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", dies_half_way)
    with pytest.raises(OSError, match="No space"):
        ckpt.save_checkpoint({"step": 2, "w": torch.zeros(3)}, tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]  # no temp file left
    path, state = ckpt.latest_checkpoint(tmp_path)
    assert path == first and torch.equal(state["w"], torch.ones(3))


def test_resume_skips_a_damaged_newest_checkpoint_and_says_so(tmp_path: Path) -> None:
    good = ckpt.save_checkpoint({"step": 2}, tmp_path, 2)
    (tmp_path / "step_00000004.pt").write_bytes(b"truncated")
    with pytest.warns(UserWarning, match=r"skipped 1 damaged checkpoint.*step_00000004\.pt"):
        path, state = ckpt.latest_checkpoint(tmp_path)
    assert path == good and state["step"] == 2


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_a_checkpoint_with_a_pickled_payload_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "step_00000001.pt"
    with evil.open("wb") as f:
        pickle.dump({"step": 1, "method": _Payload(marker)}, f)
    torch.save({"step": 1, "method": {"x": _Payload(marker)}}, tmp_path / "step_00000002.pt")
    for path in (evil, tmp_path / "step_00000002.pt"):
        with pytest.raises(ContrastkitError, match=f"cannot load checkpoint {path}"):
            ckpt.load_checkpoint(path)
    assert not marker.exists()  # the payload never ran


def test_resuming_into_another_architecture_names_the_keys_that_differ(tmp_path: Path) -> None:
    _trainer(Flaky(), tmp_path, steps=2).fit(NoisyPairs())
    torch.manual_seed(0)
    body = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 24))  # wider output
    other = SimCLR(as_encoder(body, (12,)), head=nn.Sequential(nn.Linear(24, 8)), temperature=0.2)
    trainer = _trainer(other, tmp_path, steps=4)
    with pytest.raises(ContrastkitError, match=r"do not match.*shape: encoder\..*2\.weight"):
        trainer.fit(NoisyPairs(), resume=True)


def test_resuming_with_other_optimizer_groups_says_which_setting(tmp_path: Path) -> None:
    def simsiam(fix: bool) -> SimSiam:
        torch.manual_seed(0)
        body = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16))
        encoder = as_encoder(body, (12,))
        return SimSiam(encoder, proj_hidden_dim=16, proj_dim=16, fix_predictor_lr=fix)

    _trainer(simsiam(False), tmp_path, steps=2).fit(NoisyPairs())
    trainer = _trainer(simsiam(True), tmp_path, steps=4)
    with pytest.raises(
        ContrastkitError, match=r"as \[\d+, \d+\] .*as \[\d+, \d+, \d+, \d+\].*fix_predictor"
    ):
        trainer.fit(NoisyPairs(), resume=True)
