"""`contrastkit index` writes the FAISS index with `faiss.write_index`; search, dedup and
anomalies read it back with `faiss.read_index` (no rebuild: builds are counted by a spy)
and answer exactly as the index that was built; without FAISS the exact torch search is
used as before. Embedding with a progress bar (in chunks) gives the same vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import contrastkit.index.engine as engine_module
from contrastkit.cli import app
from contrastkit.index import EmbeddingIndex, normalize
from contrastkit.index.engine import faiss_or_none
from contrastkit.index.store import FAISS_FILE, META_FILE

pytestmark = pytest.mark.skipif(faiss_or_none() is None, reason="faiss-cpu not installed")
runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def builds(monkeypatch) -> list[str]:
    """The kinds of every FAISS index built from vectors from now on."""
    made: list[str] = []
    real = engine_module.build_faiss_index

    def spy(faiss, vectors, kind, **kwargs):
        made.append(kind)
        return real(faiss, vectors, kind, **kwargs)

    monkeypatch.setattr(engine_module, "build_faiss_index", spy)
    return made


def _vectors(n: int = 2000, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    return normalize(centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim)))


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_a_saved_index_is_read_back_not_rebuilt(tmp_path: Path, builds, kind: str) -> None:
    vectors = _vectors()
    built = EmbeddingIndex(vectors, [f"i{n}" for n in range(len(vectors))], "f" * 16, kind=kind)
    built.save(tmp_path / "idx")
    assert builds[0] == kind  # (an approximate kind also builds an exact one for its recall)
    made = len(builds)
    meta = json.loads((tmp_path / "idx" / META_FILE).read_text())
    assert meta["faiss_file"] == FAISS_FILE and (tmp_path / "idx" / FAISS_FILE).is_file()

    loaded = EmbeddingIndex.load(tmp_path / "idx")
    assert len(builds) == made  # read with faiss.read_index, not built again
    assert loaded.engine.backend == "faiss" and loaded.engine.params == built.engine.params
    assert loaded.info.get("recall@10") == built.info.get("recall@10")  # not measured again
    queries = _vectors(50, seed=1)
    for a, b in zip(built.search(queries, 10), loaded.search(queries, 10), strict=True):
        np.testing.assert_array_equal(a, b)
    # neighbours query with the stored rows, normalised once more on loading (1 ulp)
    (s_a, p_a), (s_b, p_b) = built.neighbours(5), loaded.neighbours(5)
    np.testing.assert_allclose(s_a, s_b, atol=1e-6)
    assert (p_a == p_b).mean() > 0.99


def test_without_faiss_the_exact_torch_search_answers(tmp_path: Path, builds) -> None:
    vectors = _vectors(300)
    ids = [str(n) for n in range(300)]
    EmbeddingIndex(vectors, ids, "f" * 16).save(tmp_path / "idx")
    exact = EmbeddingIndex.load(tmp_path / "idx", use_faiss=False)
    assert exact.engine.backend == "torch" and builds == ["flat"]
    faiss_scores, faiss_pos = EmbeddingIndex.load(tmp_path / "idx").search(vectors[:20], 5)
    scores, positions = exact.search(vectors[:20], 5)
    np.testing.assert_allclose(scores, faiss_scores, atol=1e-5)
    assert (positions == faiss_pos).mean() > 0.99

    # an index saved without FAISS leaves no FAISS file of an earlier index behind
    exact.save(tmp_path / "idx")
    assert not (tmp_path / "idx" / FAISS_FILE).exists()
    assert json.loads((tmp_path / "idx" / META_FILE).read_text())["faiss_file"] is None
    assert EmbeddingIndex.load(tmp_path / "idx").engine.backend == "torch"  # as it was saved
    assert builds == ["flat"]


def test_a_faiss_file_that_does_not_match_is_rebuilt_with_a_warning(tmp_path: Path) -> None:
    ids = [str(n) for n in range(300)]
    EmbeddingIndex(_vectors(200), ids[:200], "f" * 16).save(tmp_path / "small")
    EmbeddingIndex(_vectors(300), ids, "f" * 16).save(tmp_path / "idx")
    (tmp_path / "small" / FAISS_FILE).replace(tmp_path / "idx" / FAISS_FILE)
    with pytest.warns(UserWarning, match="holds 200 vectors"):
        loaded = EmbeddingIndex.load(tmp_path / "idx")
    assert loaded.engine.faiss_index.ntotal == 300


def test_search_dedup_and_anomalies_reuse_the_saved_index(tmp_path: Path, monkeypatch) -> None:
    from tests.pipeline.test_eval_device import tiny_image_run

    run = tiny_image_run(tmp_path / "run")
    out = _ok("index", str(run), "-o", str(tmp_path / "idx"), "--kind", "hnsw", "--no-progress")
    assert "(hnsw, faiss, recall@10" in out
    counted: list[str] = []
    real = engine_module.build_faiss_index
    monkeypatch.setattr(
        engine_module, "build_faiss_index", lambda *a, **k: counted.append(a[2]) or real(*a, **k)
    )
    first = json.loads(_ok("search", str(tmp_path / "idx"), "--id", "digits/5", "--json"))
    again = json.loads(_ok("search", str(tmp_path / "idx"), "--id", "digits/5", "--json"))
    _ok("dedup", str(tmp_path / "idx"), "--json")
    _ok("anomalies", str(tmp_path / "idx"), "--json", "--top", "3")
    assert counted == []  # no command built the index again
    assert first == again and len(first) == 10

    # the answers of the saved HNSW index: the exact neighbours (recall@10 near 1 here)
    saved = EmbeddingIndex.load(tmp_path / "idx")
    exact = EmbeddingIndex(saved.vectors, saved.ids, saved.fingerprint, kind="flat")
    query = saved.vectors[saved.position("digits/5")][None]
    _, positions = exact.search(query, 11)
    want = [saved.ids[p] for p in positions[0] if saved.ids[p] != "digits/5"][:10]
    assert len({row["id"] for row in first} & set(want)) >= 9


def test_embedding_in_chunks_under_a_progress_bar_gives_the_same_vectors(
    tmp_path: Path, monkeypatch
) -> None:
    from contrastkit.modalities.image import ImageModality
    from contrastkit.pipeline.embedder import load_embedder
    from tests.pipeline.test_eval_device import tiny_image_run

    embedder = load_embedder(tiny_image_run(tmp_path / "run"), "cpu")
    whole = embedder.embed_source(split="test").vectors
    monkeypatch.setattr(ImageModality, "embed_chunk", 64)
    chunked = embedder.embed_source(split="test", progress=True)
    np.testing.assert_allclose(chunked.vectors, whole, rtol=1e-5, atol=1e-6)
    assert chunked.ids == embedder.embed_source(split="test").ids
