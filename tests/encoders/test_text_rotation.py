"""The PCA rotation of a text encoder's output: principal axes, lossless at full size, export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from contrastkit.encoders.text import TextEncoder
from contrastkit.encoders.text_rotation import (
    load_rotation,
    pca_rotation,
    rotation_layer,
    save_rotation,
)
from contrastkit.errors import ContrastkitError

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a library for contrastive learning of sentence embeddings",
    "debian packages ship with a one line summary and a long description",
    "the dog sleeps while the fox runs",
    "stock markets fell sharply as rates rose",
    "a guitar player on a small stage",
] * 10
TEXTS = [f"{a} {b}" for a, b in zip(CORPUS[:30], reversed(CORPUS[:30]), strict=True)]


def _anisotropic(n: int = 400, d: int = 12, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    scales = torch.logspace(1, -1, d)[torch.randperm(d, generator=g)]  # variance in no order
    basis, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    return (torch.randn(n, d, generator=g) * scales) @ basis.T + 3.0


def test_rows_are_the_principal_axes_in_order_of_variance() -> None:
    x = _anisotropic()
    r = pca_rotation(x)
    torch.testing.assert_close(r @ r.T, torch.eye(12), atol=1e-5, rtol=0)
    ref = PCA().fit(x.double().numpy())  # the reference: scikit-learn's PCA
    signs = np.sign((r.double().numpy() * ref.components_).sum(1))
    np.testing.assert_allclose(r.double().numpy() * signs[:, None], ref.components_, atol=1e-5)
    variance = (x @ r.T).var(0)
    assert torch.all(variance[:-1] >= variance[1:])
    np.testing.assert_allclose(variance.double().numpy(), ref.explained_variance_, rtol=1e-4)
    # sign convention: each row's largest entry is positive, whatever the sign of the input
    torch.testing.assert_close(pca_rotation(-x), r)


def test_rotation_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"\(N >= 2, D\)"):
        pca_rotation(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="square"):
        rotation_layer(torch.zeros(3, 4))


@pytest.fixture(scope="module")
def scratch() -> TextEncoder:
    return TextEncoder.from_scratch(CORPUS, vocab_size=200, dim=32, layers=1, heads=2, seed=1)


def test_fitted_rotation_keeps_full_size_similarities_and_orders_the_features(scratch) -> None:
    before = scratch.encode(TEXTS)
    scratch.fit_pca_rotation(TEXTS)
    try:
        after = scratch.encode(TEXTS)
        torch.testing.assert_close(after @ after.T, before @ before.T, atol=1e-5, rtol=0)
        torch.testing.assert_close(after.norm(dim=1), torch.ones(len(TEXTS)))
        # the first 4 features now hold the largest share of the variance any 4 can hold
        share = after[:, :4].var(0).sum() / after.var(0).sum()
        best = torch.linalg.eigvalsh(torch.cov(before.T)).flip(0)
        torch.testing.assert_close(share, best[:4].sum() / best.sum(), atol=1e-4, rtol=0)
        assert share > before[:, :4].var(0).sum() / before.var(0).sum() + 0.05
        # a second fit composes with the first (here a trained, non-orthogonal one): the
        # encoder's full-size similarities stay those of the layer it had
        with torch.no_grad():
            scratch.rotation.weight.mul_(torch.linspace(0.5, 2.0, 32))  # as if fine-tuned
        tuned = scratch.encode(TEXTS)
        scratch.fit_pca_rotation(TEXTS)
        again = scratch.encode(TEXTS)
        torch.testing.assert_close(again @ again.T, tuned @ tuned.T, atol=1e-5, rtol=0)
        top = torch.linalg.eigvalsh(torch.cov(tuned.T)).flip(0)
        torch.testing.assert_close(
            again[:, :4].var(0).sum() / again.var(0).sum(),
            top[:4].sum() / top.sum(),
            atol=1e-4,
            rtol=0,
        )
    finally:
        scratch.rotation = None


def test_a_rotated_encoder_round_trips_and_loads_in_sentence_transformers(scratch, tmp_path):
    from sentence_transformers import SentenceTransformer

    scratch.fit_pca_rotation(TEXTS)
    try:
        mine = scratch.encode(TEXTS[:6])
        path = scratch.save(tmp_path / "rotated")
    finally:
        scratch.rotation = None
    modules = json.loads((path / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Dense", "3_Normalize"]
    again = TextEncoder.from_pretrained(path)
    assert again.rotation is not None
    torch.testing.assert_close(again.encode(TEXTS[:6]), mine)
    st = SentenceTransformer(str(path), device="cpu")
    theirs = torch.from_numpy(st.encode(TEXTS[:6], convert_to_numpy=True))
    torch.testing.assert_close(theirs, mine, atol=1e-5, rtol=1e-5)


def test_a_dense_module_that_is_not_a_rotation_is_refused(tmp_path) -> None:
    folder = tmp_path / "2_Dense"
    save_rotation(folder, rotation_layer(torch.eye(4)))
    torch.testing.assert_close(load_rotation(folder).weight, torch.eye(4))
    config = json.loads((folder / "config.json").read_text())
    no_activation = {k: v for k, v in config.items() if k != "activation_function"}
    for wrong, named in [({**config, "bias": True}, "bias"),
                         (no_activation, "activation_function"),  # absent: their Tanh
                         ({**config, "out_features": 2}, "square")]:  # fmt: skip
        (folder / "config.json").write_text(json.dumps(wrong))
        with pytest.raises(ContrastkitError, match=named):
            load_rotation(folder)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").unlink()
    with pytest.raises(ContrastkitError, match=r"no model\.safetensors"):
        load_rotation(folder)
