"""Multi-process training with 2 gloo processes on the CPU: the same weights as one process
with the same global batch, files written once, and resume with another process count."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from contrastkit.encoders.vision import as_encoder
from contrastkit.methods import SimCLR
from contrastkit.train.trainer import Trainer
from tests.helpers.distributed import run_distributed
from tests.helpers.sources import DrawnPairs, NoisyPairs


def _method(gather: bool) -> SimCLR:
    torch.manual_seed(4)
    encoder = as_encoder(nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16)), (12,))
    head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8))
    return SimCLR(encoder, head=head, temperature=0.2, gather=gather)


def _fit(gather, run_dir, steps=5, resume=False, stop=None, source=NoisyPairs):
    method = _method(gather)
    trainer = Trainer(method, optimizer="sgd", lr=0.2, batch_size=32, steps=steps, precision="fp32",
                      progress=False, run_dir=run_dir, checkpoint_every=2, log_every=1)  # fmt: skip
    trainer.fit(source(), resume=resume, stop_at_step=stop)
    return [p.detach().clone() for p in method.parameters()]


def _train_on_rank(rank: int, world: int, run_dir: str | None) -> list[torch.Tensor]:
    return _fit(True, run_dir)


def test_two_processes_end_with_the_weights_of_one_process(tmp_path: Path) -> None:
    single = _fit(False, None)
    ranks = run_distributed(_train_on_rank, 2, tmp_path, str(tmp_path / "run"))
    for rank_weights in ranks:
        for got, want in zip(rank_weights, single, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    run = tmp_path / "run"
    assert (run / "encoder.safetensors").is_file()
    rows = (run / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 5  # header + one row per step, written by rank 0 only


def _pause_on_rank(rank: int, world: int, run_dir: str) -> None:
    _fit(True, run_dir, stop=3)


def test_a_two_process_run_resumes_in_one_process(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_distributed(_pause_on_rank, 2, tmp_path, str(run))
    resumed = _fit(False, str(run), resume=True)
    straight = _fit(False, None)
    for got, want in zip(resumed, straight, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_a_batch_that_does_not_split_evenly_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="divisible"):
        run_distributed(_odd_batch_on_rank, 2, tmp_path)


def _odd_batch_on_rank(rank: int, world: int) -> None:
    trainer = Trainer(_method(True), optimizer="sgd", lr=0.1, batch_size=33, steps=1,
                      precision="fp32", progress=False)  # fmt: skip
    trainer.fit(NoisyPairs())


def _drawn_on_rank(rank: int, world: int, run_dir: str | None, stop, resume: bool):
    return _fit(True, run_dir, resume=resume, stop=stop, source=DrawnPairs)


def test_two_process_resume_restores_each_process_view_stream(tmp_path: Path) -> None:
    for name in "abc":
        (tmp_path / name).mkdir()
    straight = run_distributed(_drawn_on_rank, 2, tmp_path / "a", None, None, False)
    run = str(tmp_path / "run")
    run_distributed(_drawn_on_rank, 2, tmp_path / "b", run, 3, False)
    resumed = run_distributed(_drawn_on_rank, 2, tmp_path / "c", run, None, True)
    for got, want in zip(resumed[1], straight[1], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
