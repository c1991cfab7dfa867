"""index / search / dedup / anomalies / cluster end to end on real data (digits images,
Debian package descriptions with MiniLM), including the errors a user can make."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.data.digits import load_digits
from contrastkit.index import EmbeddingIndex

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _fails(*args: str) -> str:
    from contrastkit.errors import ContrastkitError

    result = runner.invoke(app, list(args))
    assert result.exit_code != 0
    assert isinstance(result.exception, ContrastkitError), result.output
    return str(result.exception)


def _train(run_dir: Path, seed: int) -> None:
    _ok(
        "train", "--dataset", "digits", "--steps", "10", "--batch-size", "64",
        "--run-dir", str(run_dir), "--seed", str(seed), "--threads", "1",
        "--set", "data.holdout=200", "--set", "data.monitor_bank=500",
        "--no-progress", "--no-evaluate",
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    _train(root / "a", seed=0)
    _train(root / "b", seed=1)
    _ok("index", str(root / "a"), "-o", str(root / "index"))
    return {"a": root / "a", "b": root / "b", "index": root / "index", "root": root}


def test_index_holds_every_training_digit_with_ids_labels_and_fingerprint(runs) -> None:
    index = EmbeddingIndex.load(runs["index"])
    digits = load_digits("train")
    assert index.ids == digits.ids and len(index) == len(digits)
    np.testing.assert_array_equal(index.labels, digits.labels.numpy())
    assert len(index.fingerprint) == 16 and index.source == str(runs["a"].resolve())


def test_search_by_id_and_by_image_return_neighbours_as_table_and_json(runs, tmp_path) -> None:
    index = EmbeddingIndex.load(runs["index"])
    out = json.loads(_ok("search", str(runs["index"]), "--id", index.ids[0], "-k", "5", "--json"))
    assert [r["rank"] for r in out] == [1, 2, 3, 4, 5]
    assert index.ids[0] not in [r["id"] for r in out]
    assert all(-1 <= r["score"] <= 1 for r in out) and out[0]["score"] >= out[-1]["score"]
    # the same digit saved as a PNG finds itself first
    digits = load_digits("train")
    png = tmp_path / "q.png"
    Image.fromarray(digits.images[7, 0].numpy()).save(png)
    table = _ok("search", str(runs["index"]), "--image", str(png), "-k", "3")
    first = table.splitlines()[1].split()
    assert first[0] == "1" and first[2] == digits.ids[7]


def test_a_query_encoder_other_than_the_index_builder_is_refused(runs, tmp_path) -> None:
    digits = load_digits("train")
    png = tmp_path / "q.png"
    Image.fromarray(digits.images[0, 0].numpy()).save(png)
    message = _fails("search", str(runs["index"]), "--image", str(png), "--model", str(runs["b"]))
    assert "not the encoder this index was built with" in message


def test_unknown_id_missing_query_and_non_index_folder_are_clear_errors(runs, tmp_path) -> None:
    assert "unknown id 'nope'" in _fails("search", str(runs["index"]), "--id", "nope")
    assert "exactly one query" in _fails("search", str(runs["index"]))
    assert "not a contrastkit index" in _fails("search", str(tmp_path), "--id", "x")
    assert "queried with --file" in _fails("search", str(runs["index"]), "--text", "a shoe")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    message = _fails("search", str(runs["index"]), "--image", str(broken))
    assert "broken.png is not a readable image" in message


def test_dedup_lists_planted_copies_for_removal(runs, tmp_path) -> None:
    # plant exact copies: an index whose last 5 items repeat the first 5
    index = EmbeddingIndex.load(runs["index"])
    vectors = np.concatenate([index.vectors, index.vectors[:5]])
    ids = index.ids + [f"copy-of-{i}" for i in index.ids[:5]]
    EmbeddingIndex(vectors, ids, index.fingerprint, source=index.source).save(tmp_path / "dup")
    out = tmp_path / "dedup.csv"
    text = _ok("dedup", str(tmp_path / "dup"), "--threshold", "0.999999", "-o", str(out))
    rows = list(csv.DictReader(out.open()))
    removed = {r["id"] for r in rows if r["action"] == "remove"}
    kept = {r["id"] for r in rows if r["action"] == "keep"}
    assert {f"copy-of-{i}" for i in index.ids[:5]} <= removed
    assert set(index.ids[:5]) <= kept
    assert "items to remove" in text


def test_anomalies_rank_items_and_score_another_split(runs, tmp_path) -> None:
    out = json.loads(_ok("anomalies", str(runs["index"]), "--top", "4", "--json"))
    assert [r["rank"] for r in out] == [1, 2, 3, 4]
    assert out[0]["score"] >= out[-1]["score"]
    path = tmp_path / "scores.csv"
    _ok("anomalies", str(runs["index"]), "--data", "digits", "--split", "test", "-o", str(path))
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == len(load_digits("test"))


def test_cluster_prints_sizes_and_scores_against_labels(runs, tmp_path) -> None:
    path = tmp_path / "clusters.csv"
    text = _ok("cluster", str(runs["index"]), "--k", "10", "-o", str(path))
    assert "NMI" in text and "ARI" in text
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == len(load_digits("train"))
    assert {int(r["cluster"]) for r in rows} == set(range(10))


def test_text_index_and_search_with_minilm(tmp_path) -> None:
    pytest.importorskip("transformers")
    from contrastkit.data.debian import load_debian_descriptions

    try:
        packages = load_debian_descriptions()[:300]
    except Exception as exc:  # the Translation-en file comes from scripts/setup.sh
        pytest.skip(f"Debian descriptions unavailable: {exc}")
    lines = tmp_path / "summaries.txt"
    lines.write_text("\n".join(p.summary.replace("\n", " ") for p in packages) + "\n")
    _ok("index", "minilm", "--data", str(lines), "-o", str(tmp_path / "tidx"))
    index = EmbeddingIndex.load(tmp_path / "tidx")
    assert index.modality == "text" and len(index.texts) == len(index)
    query = index.texts[10]
    out = json.loads(_ok("search", str(tmp_path / "tidx"), "--text", query, "-k", "3", "--json"))
    assert out[0]["text"] == query and out[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert "queried with --text" in _fails("search", str(tmp_path / "tidx"), "--file", str(lines))


def test_empty_inputs_are_clear_errors(tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert "empty.txt" in _fails("index", "minilm", "--data", str(empty), "-o", str(tmp_path / "i"))
    assert not (tmp_path / "i").exists()
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("user,item,time\n")
    message = _fails("train", "--dataset", str(ratings), "--steps", "2", "-o", str(tmp_path / "r"))
    assert "no usable rows" in message


def test_dedup_command_defaults_are_the_library_defaults() -> None:
    """The CLI repeats the defaults as literals (it imports nothing heavy at start-up)."""
    import inspect

    from contrastkit.cli_index import dedup
    from contrastkit.index.dedup import DEFAULT_RATIO, DEFAULT_THRESHOLD

    params = inspect.signature(dedup).parameters
    assert params["threshold"].default == DEFAULT_THRESHOLD
    assert params["ratio"].default == DEFAULT_RATIO
