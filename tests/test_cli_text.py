"""`contrastkit train` on text, then `embed`, end to end on a small pairs file (scratch model)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.encoders.text import TextEncoder

runner = CliRunner()
WORDS = ("red green blue cat dog fish run jump swim fast slow big small old new tree").split()  # noqa: SIM905


@pytest.fixture()
def pairs_file(tmp_path):
    g = torch.Generator().manual_seed(0)
    lines = ["question,answer"]
    for _ in range(120):
        words = [WORDS[i] for i in torch.randint(0, len(WORDS), (5,), generator=g)]
        lines.append(f"{' '.join(words[:3])},{' '.join(reversed(words))}")
    lines.append("broken row without a comma")
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_on_pairs_writes_a_sentence_transformers_model_and_resumes(pairs_file, tmp_path):
    run = tmp_path / "run"
    args = [
        "train", "--dataset", str(pairs_file), "-o", str(run), "--model", "scratch",
        "--steps", "6", "--batch-size", "16", "--precision", "fp32", "--set", "data.test_size=20",
        "--set", "views.delete_p=0.1", "--set", "model.dim=32", "--set", "model.layers=1",
        "--no-progress", "--no-report",
    ]  # fmt: skip
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "recall@1" in result.output and "TF-IDF" in result.output  # the evaluation table
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["skipped_files"][0][0] == "line 122"
    assert summary["modality"] == "text"
    config = (run / "config.yaml").read_text()
    assert "modality: text" in config and "delete_p: 0.1" in config
    enc = TextEncoder.from_pretrained(run / "model")
    assert enc.encode(["red cat"]).shape == (1, 32)
    assert (run / "init" / "tokenizer.json").is_file()

    # resume: a longer budget continues from the last checkpoint (the run's own config)
    config = config.replace("steps: 6", "steps: 8")
    (run / "config.yaml").write_text(config)
    with pytest.warns(UserWarning):
        result = runner.invoke(app, ["train", "--resume", str(run), "--no-progress", "--no-report"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["steps"] == 8

    out = tmp_path / "emb.npz"
    with pytest.warns(UserWarning):
        result = runner.invoke(
            app, ["embed", str(run), "-o", str(out), "--dataset", str(pairs_file)]
        )
    assert result.exit_code == 0, result.output
    saved = np.load(out)  # anchors, then positives
    assert saved["embeddings"].shape == (240, 32) and saved["texts"][0].count(" ") == 2


def test_a_two_tower_method_on_texts_is_refused_before_training(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("one sentence\nanother sentence\n")
    args = ["train", "--dataset", str(path), "-o", str(tmp_path / "r"), "--steps", "2"]
    result = runner.invoke(app, [*args, "--method", "clip"])
    assert result.exit_code != 0
    assert "text data trains 1" in str(result.exception)
    result = runner.invoke(app, [*args, "--method", "supcon", "--model", "scratch"])
    assert "uses labels" in str(result.exception)
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_train_rejects_a_bad_budget(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("one sentence\nanother sentence\n")
    args = ["train", "--dataset", str(path), "-o", str(tmp_path / "r"), "--max-time", "soon"]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "train.max_time" in str(result.exception) and "duration" in str(result.exception)
    assert not (tmp_path / "r").exists()  # rejected before anything was written


def test_a_pca_rotation_is_fitted_once_kept_in_init_and_exported(pairs_file, tmp_path):
    from contrastkit.encoders.text import minilm_path

    run = tmp_path / "run"
    args = [
        "train", "--dataset", str(pairs_file), "-o", str(run), "--steps", "2",
        "--batch-size", "8", "--precision", "fp32", "--set", "data.test_size=20",
        "--set", "model.max_length=16", "--set", "model.rotation=pca",
        "--set", "method.matryoshka_dims=[96,192,384]", "--no-progress", "--no-evaluate",
    ]  # fmt: skip
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "fitting the principal axes of 200 texts" in result.output  # 100 training pairs
    start = TextEncoder.from_pretrained(run / "init")
    plain = TextEncoder.from_pretrained(minilm_path(), max_length=16)
    weight = start.rotation.weight.detach()
    torch.testing.assert_close(weight @ weight.T, torch.eye(384), atol=1e-4, rtol=0)
    a, b = start.encode(WORDS), plain.encode(WORDS)  # the start: MiniLM, only rotated
    torch.testing.assert_close(a @ a.T, b @ b.T, atol=1e-4, rtol=0)
    assert TextEncoder.from_pretrained(run / "model").rotation is not None

    config = (run / "config.yaml").read_text().replace("steps: 2", "steps: 3")
    (run / "config.yaml").write_text(config)
    with pytest.warns(UserWarning):
        result = runner.invoke(
            app, ["train", "--resume", str(run), "--no-progress", "--no-evaluate"]
        )
    assert result.exit_code == 0, result.output
    assert "fitting" not in result.output  # the resumed run starts from init, not a new fit
    assert json.loads((run / "summary.json").read_text())["steps"] == 3


def test_a_pca_rotation_of_a_scratch_encoder_is_refused_before_training(pairs_file, tmp_path):
    args = ["train", "--dataset", str(pairs_file), "-o", str(tmp_path / "r"), "--steps", "2",
            "--model", "scratch", "--set", "model.rotation=pca"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "model.rotation" in str(result.exception) and "scratch" in str(result.exception)
    assert not (tmp_path / "r").exists()
