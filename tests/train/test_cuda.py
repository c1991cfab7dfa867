"""On a CUDA machine: the method, its state and its batches live on the GPU, fp16 trains
with gradient scaling, and `--nproc 2` uses NCCL with one GPU per process. These tests run
only where CUDA exists (the README lists them as not run on the CPU-only CI machine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from contrastkit.encoders.vision import CompactCNN
from contrastkit.methods import MoCo
from contrastkit.train.trainer import Trainer
from contrastkit.views.pipeline import ImageViews
from tests.test_cli import _output, _run

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("precision", ["auto", "fp16"])
def test_moco_trains_on_the_gpu(precision: str) -> None:
    from contrastkit.data.digits import load_digits

    method = MoCo(CompactCNN(1, widths=(8, 16)), queue_size=64, proj_hidden_dim=32, proj_dim=16)
    trainer = Trainer(method, ImageViews.simclr(8), batch_size=32, steps=4, device="cuda",
                      precision=precision, progress=False)  # fmt: skip
    result = trainer.fit(load_digits("train"))
    assert trainer.device.type == "cuda" and trainer.views_rng.device.type == "cuda"
    assert all(t.is_cuda for t in method.state_dict().values())  # queue and key encoder too
    assert trainer.scaler.is_enabled() == (precision == "fp16")
    assert result.steps == 4 and torch.isfinite(torch.tensor(result.final_loss))


def test_cli_trains_on_cuda(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = _run("train", "--dataset", "digits", "--steps", "3", "--batch-size", "32",
                  "--device", "cuda", "--run-dir", str(run), "--no-progress",
                  "--no-evaluate", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, _output(result)
    assert json.loads((run / "summary.json").read_text())["device"].startswith("cuda")


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_two_processes_use_nccl_on_two_gpus(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = _run("train", "--dataset", "digits", "--steps", "3", "--batch-size", "32",
                  "--nproc", "2", "--run-dir", str(run), "--no-progress", "--no-evaluate",
                  cwd=tmp_path, timeout=300)  # fmt: skip
    assert result.returncode == 0, _output(result)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["device"] == "cuda:0"


# ------------------------------------------------- after training: evaluate, embed, fine-tune


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.pipeline.test_eval_device import tiny_image_run, tiny_text_run

    root = tmp_path_factory.mktemp("cuda-runs")
    return {
        "image": tiny_image_run(root / "image"),
        "text": tiny_text_run(root / "text", root / "pairs.csv"),
    }


@pytest.mark.parametrize("kind", ["image", "text"])
def test_embedding_on_the_gpu_matches_the_cpu(tiny_runs, kind: str) -> None:
    from contrastkit.pipeline.embedder import load_embedder
    from contrastkit.train.devices import module_device

    gpu = load_embedder(tiny_runs[kind], "cuda")
    assert module_device(gpu.model).type == "cuda"
    on_gpu = gpu.embed_source(split="test").vectors
    on_cpu = load_embedder(tiny_runs[kind], "cpu").embed_source(split="test").vectors
    assert on_gpu.shape == on_cpu.shape and on_gpu.dtype == on_cpu.dtype
    a, b = torch.from_numpy(on_gpu), torch.from_numpy(on_cpu)
    # autocast ("auto" precision: bf16 or fp16 on the GPU) differs from the CPU's float32
    assert torch.nn.functional.cosine_similarity(a, b).min() > 0.99
    assert gpu.fingerprint == load_embedder(tiny_runs[kind], "cpu").fingerprint


def test_evaluate_on_the_gpu_matches_the_cpu(tiny_runs) -> None:
    from contrastkit.pipeline.evaluate_run import evaluate

    run = tiny_runs["image"]
    on_cpu = evaluate(run, linear=False, device="cpu")
    on_gpu = evaluate(run, linear=False, device="cuda")
    assert json.loads((run / "eval.json").read_text())["settings"]["device"].startswith("cuda")
    assert [(r["system"], r["metric"]) for r in on_gpu] == [
        (r["system"], r["metric"]) for r in on_cpu
    ]
    for g, c in zip(on_gpu, on_cpu, strict=True):  # a few kNN votes may flip under autocast
        assert g["value"] == pytest.approx(c["value"], abs=0.03), (g, c)


def test_cli_embeds_on_cuda(tiny_runs, tmp_path: Path) -> None:
    import numpy as np
    from typer.testing import CliRunner

    from contrastkit.cli import app

    out = tmp_path / "e.npz"
    result = CliRunner().invoke(app, ["embed", str(tiny_runs["image"]), "-o", str(out),
                                      "--device", "cuda"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert np.load(out)["embeddings"].dtype == np.float32


def test_fine_tuning_on_the_gpu_keeps_items_on_the_cpu() -> None:
    from contrastkit.evaluate.semi_supervised import classifier_accuracy, fine_tune

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 8, generator=g), torch.arange(64) % 2
    x[y == 1] += 2.0
    model = fine_tune(torch.nn.Linear(8, 4).cuda(), x, y, 2, steps=30, lr=1e-2)
    assert all(p.is_cuda for p in model.parameters())
    assert classifier_accuracy(model, x, y) > 0.8
