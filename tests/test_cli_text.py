"""`contrastkit train-text` then `embed` end to end on a small pairs file (scratch model)."""

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


def test_train_text_writes_a_sentence_transformers_model_and_resumes(pairs_file, tmp_path):
    run = tmp_path / "run"
    args = [
        "train-text",
        str(pairs_file),
        "-o",
        str(run),
        "--model",
        "scratch",
        "--steps",
        "6",
        "--batch-size",
        "16",
        "--holdout",
        "20",
        "--precision",
        "fp32",
        "--delete-p",
        "0.1",
        "--no-progress",
    ]
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "held-out retrieval after" in result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["skipped_rows"][0][0] == 122
    assert json.loads((run / "settings.json").read_text())["delete_p"] == 0.1
    enc = TextEncoder.from_pretrained(run / "model")
    assert enc.encode(["red cat"]).shape == (1, 256)
    assert (run / "init" / "tokenizer.json").is_file()

    # resume: a longer budget continues from the last checkpoint (settings from the run)
    settings = json.loads((run / "settings.json").read_text())
    settings["steps"] = 8
    (run / "settings.json").write_text(json.dumps(settings))
    with pytest.warns(UserWarning):
        result = runner.invoke(
            app, ["train-text", str(pairs_file), "-o", str(run), "--resume", "--no-progress"]
        )
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["steps"] == 8

    out = tmp_path / "emb.npz"
    with pytest.warns(UserWarning):
        result = runner.invoke(
            app, ["embed", str(run), "-o", str(out), "--dataset", str(pairs_file)]
        )
    assert result.exit_code == 0, result.output
    saved = np.load(out)
    assert saved["embeddings"].shape == (120, 256) and saved["texts"][0].count(" ") == 2


def test_train_text_rejects_a_method_the_data_cannot_feed(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("one sentence\nanother sentence\n")
    result = runner.invoke(
        app,
        [
            "train-text",
            str(path),
            "-o",
            str(tmp_path / "r"),
            "--method",
            "mnrl",
            "--steps",
            "2",
            "--model",
            "scratch",
        ],
    )
    assert result.exit_code != 0
    assert "needs pairs, the file has texts" in str(result.exception)
    result = runner.invoke(
        app,
        ["train-text", str(path), "-o", str(tmp_path / "r"), "--method", "byol", "--steps", "2"],
    )
    assert "not a text method" in str(result.exception)


def test_train_text_rejects_a_bad_budget(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("one sentence\nanother sentence\n")
    args = ["train-text", str(path), "-o", str(tmp_path / "r"), "--max-time", "soon"]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "--max-time: must be a duration" in str(result.exception)
    assert not (tmp_path / "r").exists()  # rejected before anything was written
