"""`contrastkit bench` on digits: every phase timed, shares add up, FLOPs counted; `--json`
holds the same numbers."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.pipeline.bench import run_bench
from contrastkit.pipeline.settings import load_config


def test_bench_command_prints_the_breakdown() -> None:
    result = CliRunner().invoke(
        app, ["bench", "--dataset", "digits", "--steps", "2", "--batch-size", "64"]
    )
    assert result.exit_code == 0, result.output
    shares = [float(s) for s in re.findall(r"\(share (\d\.\d\d)\)", result.output)]
    assert len(shares) == 4 and 0.97 <= sum(shares) <= 1.03  # fractions, as every table
    assert "%" not in result.output
    for label in ("items/s", "data", "forward", "backward", "optimizer", "fraction of peak"):
        assert label in result.output


def test_bench_result_is_consistent() -> None:
    cfg = load_config(None, {"data.dataset": "digits", "train.steps": 2, "train.batch_size": 32,
                             "train.precision": "fp32"})  # fmt: skip
    r = run_bench(cfg, steps=2, warmup=1)
    assert r.precision == "fp32" and r.gflop_per_step > 0 and r.peak_gflops > 0
    assert abs(r.items_per_s - 32 / r.step_s) < 1e-6 * r.items_per_s
    assert 0 < r.achieved_gflops < r.peak_gflops * 1.5


def test_bench_json_is_one_document_with_fractions() -> None:
    result = CliRunner().invoke(
        app, ["bench", "--dataset", "digits", "--steps", "2", "--batch-size", "32", "--json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert set(record["shares"]) == {"data", "forward", "backward", "optimizer"}
    assert abs(sum(record["shares"].values()) - 1) < 1e-6
    assert 0 < record["fraction_of_peak"] == record["achieved_gflops"] / record["peak_gflops"]
    assert record["items_per_s"] > 0 and record["precision"] in ("fp32", "bf16")


def test_step_flops_count_the_forward_and_the_backward_pass() -> None:
    """A linear layer y = x W^T on (B, I) -> (B, O): forward 2BIO, backward 4BIO (grads of
    the input and the weight), 6BIO per step."""
    import types

    import torch

    from contrastkit.pipeline.bench import _flops

    b, i, o = 8, 16, 4

    class Step(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(i, o, bias=False)

        def training_step(self, x: torch.Tensor):
            return types.SimpleNamespace(loss=self.linear(x).square().sum())

    x = torch.randn(b, i, requires_grad=True)
    assert _flops(Step(), x, None) == 6 * b * i * o
