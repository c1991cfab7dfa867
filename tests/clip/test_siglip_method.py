"""SigLIP method: the paper's initial temperature and bias, loss and gradients against the
double-loop reference (bias and temperature included), no clamp, config and Matryoshka."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.errors import ConfigError
from contrastkit.methods import METHODS
from contrastkit.methods.base import Batch
from contrastkit.methods.params import construct, validate_method_params
from contrastkit.methods.siglip import SigLIP
from tests.clip.test_clip_method import Tower
from tests.losses.test_siglip import _reference


def make_siglip(**kwargs) -> SigLIP:
    torch.manual_seed(0)
    kwargs.setdefault("embed_dim", 4)
    return SigLIP(Tower(6, 5), text_encoder=Tower(4, 7), **kwargs)


def test_starts_at_the_paper_values_and_is_registered() -> None:
    method = make_siglip()
    assert method.logit_scale.item() == pytest.approx(math.log(10))  # t' = log 10
    assert method.logit_bias.item() == -10.0
    assert METHODS["siglip"] is SigLIP and SigLIP.towers == 2
    assert {"logit_scale", "logit_bias"} <= {n for n, _ in method.named_parameters()}


def test_step_matches_the_reference_with_gradients_to_temperature_and_bias() -> None:
    method = make_siglip(logit_scale=2.0, logit_bias=-1.0)
    g = torch.Generator().manual_seed(1)
    x, t = torch.randn(7, 6, generator=g), torch.randn(7, 4, generator=g)
    out = method.training_step(Batch([x, t]))
    out.loss.backward()
    img = method.encode_image(x).detach().double().requires_grad_()
    txt = method.encode_text(t).detach().double().requires_grad_()
    t_ref = torch.tensor(math.log(2.0), dtype=torch.float64, requires_grad=True)
    b_ref = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    ref = _reference(img, txt, t_ref.exp(), b_ref)
    ref.backward()
    assert out.loss.item() == pytest.approx(ref.item(), rel=1e-5)
    assert method.logit_scale.grad.item() == pytest.approx(t_ref.grad.item(), rel=1e-4)
    assert method.logit_bias.grad.item() == pytest.approx(b_ref.grad.item(), rel=1e-4)
    assert out.metrics["logit_bias"] == -1.0 and "temperature" in out.metrics


def test_temperature_is_not_clamped_after_a_step() -> None:
    method = make_siglip()
    with torch.no_grad():
        method.logit_scale.fill_(math.log(500.0))  # above CLIP's clamp of 100
    method.on_step_end(0.5)
    assert method.logit_scale.item() == pytest.approx(math.log(500.0))


def test_fixed_temperature_trains_the_bias_only() -> None:
    method = make_siglip(learn_temperature=False)
    names = {n for n, _ in method.named_parameters()}
    assert "logit_bias" in names and "logit_scale" not in names


@pytest.mark.parametrize(
    ("key", "value"), [("logit_scale", 0.0), ("logit_scale", -1.0), ("logit_bias", math.inf)]
)
def test_bad_values_name_their_key(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=rf"method\.{key}"):
        validate_method_params("siglip", {key: value})


def test_matryoshka_sums_the_loss_over_the_first_features_of_the_shared_space() -> None:
    torch.manual_seed(0)
    params = validate_method_params("siglip", {"embed_dim": 8, "matryoshka_dims": [2, 4, 8]})
    method = construct("siglip", Tower(6, 5), params, text_encoder=Tower(4, 7))
    g = torch.Generator().manual_seed(3)
    x, t = torch.randn(5, 6, generator=g), torch.randn(5, 4, generator=g)
    z = [method.encode_image(x), method.encode_text(t)]
    kw = {"logit_scale": method.logit_scale.exp(), "logit_bias": method.logit_bias}
    from contrastkit.losses import siglip_loss

    expected = sum(siglip_loss(z[0][:, :m], z[1][:, :m], **kw) for m in (2, 4, 8))
    loss = method.training_step(Batch([x, t])).loss
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
