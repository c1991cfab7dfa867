"""The image-text adapter: a locked MiniLM tower stays fixed while the image tower trains,
a bad captions file is named with its line, and text queries search an image index."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.modalities.image_text import ImageTextModality
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import trainer_for

runner = CliRunner()


@pytest.mark.slow
def test_locked_minilm_tower_trains_only_the_image_side() -> None:
    cfg = load_config(None, {"data.dataset": "emoji", "data.image_size": 24, "train.steps": 3,
                             "train.batch_size": 32, "model.widths": [16, 32, 64]})  # fmt: skip
    adapter = ImageTextModality()
    data = adapter.prepare(cfg, None)
    data.train = data.train.subset(torch.arange(0, len(data.train), 25))  # ~120 pairs
    cfg = adapter.resolve(cfg, data)
    method = adapter.new_method(cfg, data)
    assert method.lock_text
    text_before = {k: v.clone() for k, v in method.text_encoder.state_dict().items()}
    image_before = {k: v.clone() for k, v in method.encoder.state_dict().items()}
    fit = trainer_for(cfg, method, progress=False).fit(
        adapter.batches(cfg, data, method, torch.device("cpu"))
    )
    assert fit.steps == 3 and len(method.text_encoder._memo) == 3 * 32
    for k, v in method.text_encoder.state_dict().items():
        torch.testing.assert_close(v, text_before[k])
    assert any(not torch.equal(v, image_before[k]) for k, v in method.encoder.state_dict().items())


@pytest.mark.parametrize("caption", ["name+subgroup", "name"])
def test_zero_shot_prompts_are_not_in_the_training_captions(caption: str) -> None:
    cfg = load_config(None, {"data.dataset": "emoji", "data.image_size": 16,
                             "data.caption": caption, "model.text_model": "scratch",
                             "method.lock_text": False, "train.steps": 1})  # fmt: skip
    data = ImageTextModality().prepare(cfg, None)
    prompts, owner = data.prompts
    captions = [c.lower() for c in data.train.captions]
    parts = {p.strip() for c in captions for p in re.split(r"[():,]", c)}  # name, subgroup
    assert set(owner.tolist()) == set(range(len(data.train.classes)))  # every class asked
    for prompt in (p.lower() for p in prompts):
        assert prompt not in parts and prompt.removeprefix("an emoji of ") not in parts, prompt
        assert not any(prompt in c for c in captions), prompt


def test_a_bad_captions_file_is_named_with_its_line(tmp_path: Path) -> None:
    csv = tmp_path / "pairs.csv"
    csv.write_text("image,caption\nnothere.png,a caption\n")
    result = runner.invoke(app, ["train", "--dataset", str(csv), "--steps", "2",
                                 "-o", str(tmp_path / "run")])  # fmt: skip
    assert result.exit_code != 0
    assert "line 2" in str(result.exception) and "nothere.png" in str(result.exception)


@pytest.mark.slow
def test_a_text_query_searches_an_image_index(tmp_path: Path) -> None:
    run, index = tmp_path / "run", tmp_path / "idx"
    args = ["train", "--dataset", "emoji", "--set", "model.text_model=scratch", "--steps", "3",
            "--batch-size", "32", "--set", "model.widths=[8,16]", "-o", str(run),
            "--no-progress", "--no-evaluate"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    assert (run / "text_init" / "tokenizer.json").is_file()  # the scratch tower's vocabulary
    built = runner.invoke(app, ["index", str(run), "-o", str(index), "--split", "test"])
    assert built.exit_code == 0, built.output
    result = runner.invoke(app, ["search", str(index), "--text", "red heart", "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 3 and all("text" in r for r in rows)  # captions of the found images
