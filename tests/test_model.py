"""`contrastkit.load(RUN_DIR).encode(items)`, for every modality, gives the embeddings
`contrastkit embed` writes for the same items, with items given the way a user has them
(files, PIL images, arrays, strings, table rows, node and item ids)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import contrastkit
from contrastkit.errors import ContrastkitError
from contrastkit.pipeline.embed_run import embed

TOL = 1e-5


def _embedded(run: Path, tmp: Path, **kwargs) -> dict[str, np.ndarray]:
    out = tmp / "emb.npz"
    embed(run, out, device="cpu", **kwargs)
    with np.load(out) as saved:
        return {k: saved[k] for k in saved.files}


def test_image_files_pil_arrays_and_tensors(tiny_runs, tmp_path) -> None:
    run, _ = tiny_runs("image")
    ref = _embedded(run, tmp_path, split="test")["embeddings"][:40]
    encoder = contrastkit.load(run, device="cpu")
    images = encoder._embedder.item_set(None, "test").items[:40]  # (40, 1, 8, 8) uint8
    paths = []
    for i, img in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(img[0].numpy()).save(paths[-1])
    assert encoder.modality == "image"
    for given in (
        paths,
        [str(p) for p in paths],
        [Image.open(p) for p in paths],
        images,
        images.float() / 255,
        images.permute(0, 2, 3, 1).numpy(),  # (N, H, W, C)
    ):
        z = encoder.encode(given, batch_size=16)
        assert z.dtype == np.float32 and z.shape == ref.shape
        np.testing.assert_allclose(z, ref, atol=TOL)
    one = encoder.encode(paths[0], normalize=True)
    assert one.shape == (1, ref.shape[1]) and np.isclose(np.linalg.norm(one), 1.0)


def test_text_strings(tiny_runs, tmp_path) -> None:
    run, data = tiny_runs("text")
    saved = _embedded(run, tmp_path, dataset=data)
    z = contrastkit.load(run, device="cpu").encode(list(saved["texts"]), batch_size=7)
    np.testing.assert_allclose(z, saved["embeddings"], atol=TOL)


def test_table_rows_frames_and_csv(tiny_runs, tmp_path) -> None:
    run, data = tiny_runs("table")
    ref = _embedded(run, tmp_path, dataset=data)["embeddings"]
    frame = pd.read_csv(data)
    encoder = contrastkit.load(run, device="cpu")
    for given in (frame, frame.drop(columns="target"), frame.to_dict("records"), data):
        np.testing.assert_allclose(encoder.encode(given, batch_size=50), ref, atol=TOL)
    with pytest.raises(ContrastkitError, match="lack the model's columns"):
        encoder.encode(frame.drop(columns="alcohol"))


def test_audio_files_and_waveforms(tiny_runs, tmp_path) -> None:
    from contrastkit.data.audio import read_audio

    run, data = tiny_runs("audio")
    saved = _embedded(run, tmp_path, dataset=data)
    encoder = contrastkit.load(run, device="cpu")
    files = [Path(data) / i for i in saved["ids"]]
    np.testing.assert_allclose(encoder.encode(files), saved["embeddings"], atol=TOL)
    rate = encoder.config.data.sample_rate
    waves = [read_audio(f, sample_rate=rate) for f in files]  # whole files: cropped by encode
    np.testing.assert_allclose(encoder.encode(waves), saved["embeddings"], atol=TOL)


def test_graph_node_ids(tiny_runs, tmp_path) -> None:
    run, _ = tiny_runs("graph")
    saved = _embedded(run, tmp_path)
    encoder = contrastkit.load(run, device="cpu")
    z = encoder.encode(list(saved["ids"]), batch_size=64)
    np.testing.assert_allclose(z, saved["embeddings"], atol=TOL)
    with pytest.raises(ContrastkitError, match="unknown node ids"):
        encoder.encode(["no-such-package"])


def test_image_text_both_towers(tiny_runs, tmp_path) -> None:
    run, _ = tiny_runs("image-text")
    saved = _embedded(run, tmp_path, split="test")
    encoder = contrastkit.load(run, device="cpu")
    images = encoder._embedder.item_set(None, "test").items
    np.testing.assert_allclose(encoder.encode_image(images), saved["embeddings"], atol=TOL)
    captions = list(saved["texts"][:50])
    z_text = encoder.encode(captions)  # strings: the text tower
    e = encoder._embedder
    ref = e.embed_items(e.modality_adapter.read_query(e.model, e.cfg, e.data, captions[0], "text"))
    np.testing.assert_allclose(z_text[:1], ref.vectors, atol=TOL)
    np.testing.assert_allclose(encoder.encode_text(captions), z_text, atol=TOL)
    assert z_text.shape[1] == saved["embeddings"].shape[1]  # one shared space


def test_interaction_items_and_users(tiny_runs, tmp_path) -> None:
    run, _ = tiny_runs("interactions")
    saved = _embedded(run, tmp_path)
    encoder = contrastkit.load(run, device="cpu")
    np.testing.assert_allclose(encoder.encode(list(saved["ids"])), saved["embeddings"], atol=TOL)
    e = encoder._embedder
    users = e.data.train.user_ids[:5]
    u = encoder.encode(users, kind="user")
    scores = e.modality_adapter.user_scores(e.model, e.cfg, e.data, np.arange(5))
    method = e.model
    expected = u @ saved["embeddings"].T * method.logit_scale.exp().item()
    expected = expected + e.cfg.model.popularity_weight * e.data.log_q.numpy()
    np.testing.assert_allclose(expected, scores.numpy(), atol=1e-4)


def test_inputs_of_another_kind_are_one_sentence(tiny_runs) -> None:
    run, _ = tiny_runs("image")
    encoder = contrastkit.load(run, device="cpu")
    with pytest.raises(ContrastkitError, match=r"images must be \(N, 1, H, W\)"):
        encoder.encode(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ContrastkitError, match="an image is a file path"):
        encoder.encode([3.5])
