"""`--device` after training: `evaluate`, `embed`, `index`, `search`, `anomalies` and
`finetune` put the encoder and every embedding batch on the chosen device (here the CPU,
checked with spies), give the numbers they give without the flag, and refuse a device the
machine lacks in one sentence with exit status 2 before writing anything.

The same commands on a GPU, compared with the CPU, are in tests/train/test_cuda.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app, main
from contrastkit.pipeline.embedder import load_embedder

runner = CliRunner()
WORDS = "red green blue cat dog fish run jump swim fast slow big small old new tree".split()  # noqa: SIM905


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def tiny_image_run(run: Path) -> Path:
    """A digits run of 4 steps with a small CNN (a few seconds on one thread)."""
    _ok(
        "train", "--dataset", "digits", "--steps", "4", "--batch-size", "32", "-o", str(run),
        "--threads", "1", "--set", "data.holdout=200", "--set", "data.monitor_bank=200",
        "--set", "model.widths=[8,16]", "--no-progress", "--no-evaluate", "--no-report",
    )  # fmt: skip
    return run


def tiny_text_run(run: Path, data: Path) -> Path:
    """A scratch-model text run of 4 steps on 80 word pairs."""
    g = torch.Generator().manual_seed(0)
    lines = ["question,answer"]
    for _ in range(80):
        words = [WORDS[i] for i in torch.randint(0, len(WORDS), (5,), generator=g)]
        lines.append(f"{' '.join(words[:3])},{' '.join(reversed(words))}")
    data.write_text("\n".join(lines) + "\n")
    _ok(
        "train", "--dataset", str(data), "-o", str(run), "--model", "scratch", "--steps", "4",
        "--batch-size", "16", "--precision", "fp32", "--threads", "1",
        "--set", "data.test_size=20", "--set", "model.dim=32", "--set", "model.layers=1",
        "--no-progress", "--no-evaluate", "--no-report",
    )  # fmt: skip
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("device-runs")
    try:
        yield {
            "image": tiny_image_run(root / "image"),
            "text": tiny_text_run(root / "text", root / "pairs.csv"),
        }
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


# ---------------------------------------------------------------- same numbers on the CPU


def test_evaluate_on_the_cpu_gives_the_numbers_of_the_default(runs) -> None:
    run = runs["image"]
    _ok("evaluate", str(run), "--no-linear")
    default = json.loads((run / "eval.json").read_text())
    _ok("evaluate", str(run), "--no-linear", "--device", "cpu")
    on_cpu = json.loads((run / "eval.json").read_text())
    assert on_cpu["rows"] == default["rows"]
    assert on_cpu["settings"]["device"] == "cpu"
    assert {r["system"] for r in on_cpu["rows"]} >= {"raw pixels", "random-init encoder"}


@pytest.mark.parametrize("kind", ["image", "text"])
def test_embed_on_the_cpu_gives_the_embeddings_of_the_default(runs, tmp_path, kind) -> None:
    default, on_cpu = tmp_path / "default.npz", tmp_path / "cpu.npz"
    _ok("embed", str(runs[kind]), "-o", str(default))
    _ok("embed", str(runs[kind]), "-o", str(on_cpu), "--device", "cpu")
    a, b = np.load(default), np.load(on_cpu)
    assert a["embeddings"].dtype == np.float32 and len(a["embeddings"]) > 0
    np.testing.assert_array_equal(a["embeddings"], b["embeddings"])
    np.testing.assert_array_equal(a["ids"], b["ids"])


def test_index_and_anomalies_on_the_cpu_match_the_default(runs, tmp_path) -> None:
    index = tmp_path / "index"
    _ok("index", str(runs["image"]), "-o", str(index), "--device", "cpu")
    args = ["anomalies", str(index), "--data", "digits", "--json", "--top", "5"]
    assert _ok(*args, "--device", "cpu") == _ok(*args)


@pytest.mark.parametrize("how", [["--device", "cpu"], ["--set", "train.device=cpu"]])
def test_the_evaluation_after_training_runs_on_the_training_device(tmp_path, monkeypatch, how):
    import contrastkit.pipeline.evaluate_run as evaluate_run

    asked: list[str] = []
    monkeypatch.setattr(
        evaluate_run, "evaluate", lambda run, **kw: asked.append(kw["device"]) or []
    )
    _ok(
        "train", "--dataset", "digits", "--steps", "1", "--batch-size", "16", "-o",
        str(tmp_path / "run"), "--threads", "1", "--set", "data.holdout=200",
        "--set", "model.widths=[8,16]", "--no-progress", "--no-report", *how,
    )  # fmt: skip
    assert asked == ["cpu"]


# ---------------------------------------------------------------- the device reaches the encoder


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Records the resolved device, every module moved with `.to(device)` and every batch
    sent through `to_device` by image and text embedding."""
    import contrastkit.encoders.text as text_encoder
    import contrastkit.evaluate.features as features
    import contrastkit.pipeline.embedder as embedder
    from contrastkit.train import devices

    seen: dict[str, list[Any]] = {"resolved": [], "modules": [], "batches": []}

    def resolve(spec: str, **kwargs: Any) -> torch.device:
        found = devices.resolve_device(spec, **kwargs)
        seen["resolved"].append(found)
        return found

    def to_device(x: Any, device: torch.device) -> Any:
        first = x if isinstance(x, torch.Tensor) else next(iter(x.values()))
        seen["batches"].append((device, len(first)))
        return devices.to_device(x, device)

    module_to = torch.nn.Module.to

    def to(self: torch.nn.Module, *args: Any, **kwargs: Any) -> torch.nn.Module:
        seen["modules"].append((type(self).__name__, args[0] if args else kwargs.get("device")))
        return module_to(self, *args, **kwargs)

    monkeypatch.setattr(embedder, "resolve_device", resolve)
    monkeypatch.setattr(features, "to_device", to_device)
    monkeypatch.setattr(text_encoder, "to_device", to_device)
    monkeypatch.setattr(torch.nn.Module, "to", to)
    return seen


@pytest.mark.parametrize(("kind", "encoder"), [("image", "CompactCNN"), ("text", "TextEncoder")])
def test_the_encoder_and_each_batch_go_to_the_resolved_device(runs, spy, kind, encoder) -> None:
    embedder = load_embedder(runs[kind], "cpu")
    (resolved,) = spy["resolved"]
    assert resolved == torch.device("cpu")
    assert (encoder, resolved) in spy["modules"]  # the trained encoder, moved once
    items = embedder.embed_source(split="test")
    assert spy["batches"], "no batch went through to_device"
    assert all(device == resolved for device, _ in spy["batches"])
    assert sum(n for _, n in spy["batches"]) == len(items.ids)  # every item, batch by batch


# ---------------------------------------------------------------- a device the machine lacks


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str) -> str:
    """Run `contrastkit ARGS` as the console script does; expect exit 2; its stderr."""
    monkeypatch.setattr(sys, "argv", ["contrastkit", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    err = capsys.readouterr().err
    assert stop.value.code == 2, err
    return err


def test_a_missing_gpu_is_one_sentence_before_any_work(runs, tmp_path, monkeypatch, capsys, no_gpu):
    run = runs["image"]
    (run / "eval.json").unlink(missing_ok=True)
    out = tmp_path / "e.npz"
    commands = [
        ("evaluate", str(run), "--device", "cuda"),
        ("embed", str(run), "-o", str(out), "--device", "cuda"),
        ("index", str(run), "-o", str(tmp_path / "index"), "--device", "cuda:1"),
        ("finetune", str(run), "--dataset", "digits", "--device", "cuda"),
    ]
    for args in commands:
        err = _main(monkeypatch, capsys, *args)
        assert len(err.strip().splitlines()) == 1, err
        assert f"--device: {args[-1]!r} is not available on this machine" in err
    err = _main(monkeypatch, capsys, "embed", str(run), "-o", str(out), "--device", "gpu")
    assert "'gpu' is not a device; use auto, cpu, cuda, cuda:N or mps" in err
    assert not (run / "eval.json").exists() and not out.exists()
    assert not (tmp_path / "index").exists() and not list(run.glob("finetune-*"))
