"""Matryoshka training through the method config: `method.matryoshka_dims` sums the
method's own objective over the first m features (value and gradient against the plain
sum), keeps the state dict, and is refused where it cannot mean what it says."""

from __future__ import annotations

import copy

import pytest
import torch

from contrastkit.encoders.vision import CompactCNN
from contrastkit.errors import ConfigError
from contrastkit.losses import info_nce, nt_xent
from contrastkit.methods.base import Batch
from contrastkit.methods.clip import CLIP
from contrastkit.methods.params import construct, method_params, validate_method_params
from contrastkit.pipeline.nested_eval import first_features
from contrastkit.pipeline.settings import load_config
from tests.clip.test_clip_method import Tower


def _simclr(dims=None, weights=None):
    torch.manual_seed(0)
    params = validate_method_params(
        "simclr", {"temperature": 0.2, "matryoshka_dims": dims, "matryoshka_weights": weights}
    )
    return construct("simclr", Tower(6, 16), params, proj_dim=0)


@pytest.mark.parametrize(("dims", "weights"), [([4, 8, 16], None), ([2, 16], [0.25, 1.0])])
def test_simclr_objective_is_the_weighted_sum_over_prefixes(dims, weights):
    method = _simclr(dims, weights)
    g = torch.Generator().manual_seed(1)
    x1, x2 = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    loss = method.training_step(Batch([x1, x2])).loss
    loss.backward()
    got = {n: p.grad.clone() for n, p in method.named_parameters()}

    plain = _simclr()
    z = [plain.encoder(x1), plain.encoder(x2)]
    c = weights or [1.0] * len(dims)
    ref = sum(
        w * nt_xent(z[0][:, :m], z[1][:, :m], temperature=0.2) for m, w in zip(dims, c, strict=True)
    )
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    for name, p in plain.named_parameters():
        torch.testing.assert_close(got[name], p.grad, msg=name)


def test_clip_objective_cuts_the_shared_space_and_keeps_the_state_dict():
    torch.manual_seed(0)
    params = validate_method_params("clip", {"embed_dim": 8, "matryoshka_dims": [2, 8]})
    method = construct("clip", Tower(6, 5), params, text_encoder=Tower(4, 7))
    z = [torch.randn(5, 8), torch.randn(5, 8)]
    expected = sum(
        info_nce(z[0][:, :m], z[1][:, :m], temperature=method.temperature, symmetric=True)
        for m in (2, 8)
    )
    assert method.objective(z, Batch(z)).item() == pytest.approx(expected.item(), rel=1e-6)
    plain = CLIP(Tower(6, 5), text_encoder=Tower(4, 7), embed_dim=8)
    assert method.state_dict().keys() == plain.state_dict().keys()
    twin = copy.deepcopy(method)  # the copy's objective is bound to the copy
    assert twin.objective.objective.__self__ is twin


def test_keys_exist_only_for_methods_with_a_separate_objective():
    assert "matryoshka_dims" in method_params("simclr")
    assert "matryoshka_dims" not in method_params("byol")
    with pytest.raises(ConfigError, match=r"unknown config key 'method\.matryoshka_dims'"):
        validate_method_params("byol", {"matryoshka_dims": [4]})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"matryoshka_dims": [0, 4]}, r"method\.matryoshka_dims.*sizes >= 1"),
        ({"matryoshka_dims": [4, 8], "matryoshka_weights": [1.0]}, r"method\.matryoshka_weights"),
        ({"matryoshka_weights": [1.0]}, r"method\.matryoshka_weights.*needs matryoshka_dims"),
    ],
)
def test_bad_values_name_their_key(values, message):
    with pytest.raises(ConfigError, match=message):
        validate_method_params("simclr", values)


def test_a_size_above_the_embedding_is_named_at_the_first_step():
    method = _simclr([8, 32])
    x = torch.randn(4, 6)
    with pytest.raises(
        ValueError, match=r"matryoshka_dims \[8, 32\] go beyond the embedding size 16"
    ):
        method.training_step(Batch([x, x]))


def test_a_projection_head_is_refused_on_images():
    base = {"data.dataset": "digits", "train.steps": 1, "method.matryoshka_dims": [8, 16]}
    with pytest.raises(ConfigError, match=r"method\.matryoshka_dims.*model\.proj_dim: 0"):
        load_config(None, base)
    cfg = load_config(None, {**base, "model.proj_dim": 0})
    assert cfg.method.params["matryoshka_dims"] == [8, 16]


def test_first_features_cuts_outputs_inside_the_block_only():
    encoder = CompactCNN(1, widths=(8, 16))
    x = torch.rand(2, 1, 8, 8)
    full = encoder(x)
    with first_features([encoder], 4):
        torch.testing.assert_close(encoder(x), full[:, :4])
        assert encoder.output_dim == 4
    assert encoder(x).shape == full.shape and encoder.output_dim == full.shape[1]


@pytest.mark.slow
def test_an_image_run_reports_knn_at_each_nested_size(tmp_path):
    """A few steps of SimCLR on digits without a head; eval.json's "matryoshka" holds kNN
    accuracy of the encoder's first 4, 8 and 16 features (16: the whole encoder)."""
    import json

    from contrastkit.pipeline.evaluate_run import evaluate
    from contrastkit.pipeline.train_run import train

    run = tmp_path / "run"
    cfg = load_config(None, {"data.dataset": "digits", "data.holdout": 200,
                             "data.monitor_bank": 200, "model.widths": [8, 16],
                             "model.proj_dim": 0, "method.matryoshka_dims": [4, 8, 16],
                             "train.steps": 3, "train.batch_size": 32, "train.threads": 1,
                             "train.run_dir": str(run)})  # fmt: skip
    torch.manual_seed(0)
    train(cfg, progress=False)
    evaluate(run, device="cpu", linear=False)
    report = json.loads((run / "eval.json").read_text())
    nested = {r["dim"]: r["value"] for r in report["matryoshka"] if r["metric"] == "knn_top1"}
    full = next(r["value"] for r in report["rows"]
                if r["system"] == "contrastkit simclr" and r["metric"] == "knn_top1")  # fmt: skip
    assert sorted(nested) == [4, 8, 16] and nested[16] == pytest.approx(full)
    assert nested[4] != nested[16]  # the cut changes the features
