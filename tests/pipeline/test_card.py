"""Model cards: README.md with Hugging Face front matter, written after training, after
evaluation and into every export, naming the real numbers of its own run."""

from __future__ import annotations

import json

import pytest
import yaml

from contrastkit.export import export


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_the_card_names_the_runs_own_numbers(tiny_runs) -> None:
    run, _ = tiny_runs("image", evaluated=True)
    rows = json.loads((run / "eval.json").read_text())["rows"]
    summary = json.loads((run / "summary.json").read_text())
    card = (run / "README.md").read_text()
    knn = {r["system"]: r["value"] for r in rows if r["metric"] == "knn_top1"}
    for system, value in knn.items():  # the trained model and each baseline, in the table
        assert f"| {system} | {value:.4f} |" in card, system
    assert "raw pixels" in knn and "random-init encoder" in knn
    assert f"{summary['items_per_second']:,.0f} items/s" in card
    assert "digits: 1,237 train / 360 test images" in card and "compact_cnn" in card
    meta = _front_matter(card)
    assert meta["library_name"] == "contrastkit" and meta["datasets"] == ["digits"]
    assert {"image", "simclr"} <= set(meta["tags"])
    metrics = meta["model-index"][0]["results"][0]["metrics"]
    assert {m["type"]: m["value"] for m in metrics}["knn_top1"] == knn["contrastkit simclr"]
    assert 'contrastkit.load("' in card


def test_a_run_not_yet_evaluated_says_so(tiny_runs) -> None:
    run, _ = tiny_runs("fashion-mnist")
    card = (run / "README.md").read_text()
    assert "Not evaluated yet" in card and "model-index" not in _front_matter(card)
    assert "steps 3, batch size 32" in card


@pytest.mark.parametrize(
    ("kind", "fmt", "snippet"),
    [("image", "safetensors", "contrastkit.load"), ("image", "torchscript", "torch.jit.load"),
     ("text", "sentence-transformers", "SentenceTransformer(")],
)  # fmt: skip
def test_every_export_carries_the_card(tiny_runs, tmp_path, kind, fmt, snippet) -> None:
    run, _ = tiny_runs(kind, evaluated=True)
    out = export(run, fmt, tmp_path / fmt)
    card = (out / "README.md").read_text()
    assert snippet in card and str(out) in card
    loads = f'contrastkit.load("{run if fmt == "torchscript" else out}")'  # what load can read
    assert loads in card
    assert _front_matter(card)["library_name"] == "contrastkit"
    main = next(r for r in json.loads((run / "eval.json").read_text())["rows"])
    assert f"{main['value']:.4f}" in card
