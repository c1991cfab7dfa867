"""Device choice, the backend per device, moving batches, and `--device` on the command
line (an unavailable device is one sentence and exit status 2, before any work)."""

from __future__ import annotations

import pytest
import torch

from contrastkit.errors import ConfigError
from contrastkit.methods.base import Batch
from contrastkit.pipeline.settings import load_config
from contrastkit.train.devices import backend_for, move_batch, resolve_device
from tests.test_cli import _output, _run


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def four_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)


def test_auto_is_the_cpu_without_accelerators(no_gpu) -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps(monkeypatch: pytest.MonkeyPatch, four_gpus) -> None:
    assert resolve_device("auto", rank=0) == torch.device("cuda", 0)
    assert resolve_device("auto", rank=6) == torch.device("cuda", 2)  # one GPU per process
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")


def test_explicit_cuda_devices(monkeypatch: pytest.MonkeyPatch, four_gpus) -> None:
    monkeypatch.setenv("LOCAL_RANK", "1")  # torchrun's local rank picks the GPU
    assert resolve_device("cuda") == torch.device("cuda", 1)
    assert resolve_device("cuda:3") == torch.device("cuda", 3)
    with pytest.raises(ConfigError, match=r"'cuda:4' does not exist; this machine has 4"):
        resolve_device("cuda:4")


def test_unavailable_or_misspelt_devices_are_one_sentence(no_gpu) -> None:
    with pytest.raises(ConfigError, match=r"'cuda' is not available on this machine.*no CUDA"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match=r"'mps' is not available"):
        resolve_device("mps")
    with pytest.raises(ConfigError, match=r"'gpu' is not a device; use auto, cpu, cuda"):
        resolve_device("gpu")


def test_the_backend_follows_the_device() -> None:
    assert backend_for(torch.device("cuda", 1)) == "nccl"
    assert backend_for(torch.device("cpu")) == "gloo"
    assert backend_for(torch.device("mps")) == "gloo"


def test_move_batch_keeps_tensors_already_there() -> None:
    views = [torch.randn(4, 3), torch.randn(4, 3)]
    tokens = {"input_ids": torch.ones(4, 5, dtype=torch.long)}
    batch = Batch(views, torch.arange(4), torch.arange(4), tokens)
    moved = move_batch(batch, torch.device("cpu"))
    assert moved.views[0] is views[0] and moved.negatives["input_ids"] is tokens["input_ids"]
    assert moved.index is batch.index


def test_device_is_a_validated_config_key() -> None:
    digits = {"data.dataset": "digits", "train.steps": 1}
    assert load_config(None, digits).train.device == "auto"
    assert load_config(None, {**digits, "train.device": "cuda:1"}).train.device == "cuda:1"
    with pytest.raises(ConfigError, match=r"train\.device.*'gpu:0' is not a device"):
        load_config(None, {**digits, "train.device": "gpu:0"})


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cli_refuses_a_missing_gpu_before_any_work(tmp_path) -> None:
    run = tmp_path / "run"
    result = _run("train", "--dataset", "digits", "--steps", "1", "--device", "cuda",
                  "--run-dir", str(run), "--no-progress", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2, _output(result)
    assert "'cuda' is not available on this machine" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not run.exists()  # nothing was written
    nproc = _run("train", "--dataset", "digits", "--steps", "1", "--device", "cuda", "--nproc",
                 "2", "--no-progress", cwd=tmp_path)  # fmt: skip
    assert nproc.returncode == 2 and "'cuda' is not available" in nproc.stderr


def test_torch_threads_sets_and_restores() -> None:
    from contrastkit.train.devices import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_a_run_with_train_threads_leaves_the_process_threads_alone(tmp_path) -> None:
    from contrastkit.pipeline.settings import load_config
    from contrastkit.pipeline.train_run import train

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        given = {"data.dataset": "wine", "train.steps": 2, "train.threads": 1}
        cfg = load_config(None, {**given, "train.run_dir": str(tmp_path / "r")})
        train(cfg, progress=False)
        assert torch.get_num_threads() == 2  # a library call leaves no trace
    finally:
        torch.set_num_threads(before)
