"""SigLIP's sigmoid loss against a plain double loop (value and gradient), and its rules."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.losses import siglip_loss


def _reference(image, text, scale, bias):
    """The paper's algorithm 1 as a double loop in float64: -1/|B| sum_ij log sigmoid(z_ij l_ij)."""
    n = image.shape[0]
    total = 0.0
    for i in range(n):
        x = image[i] / image[i].norm()
        for j in range(n):
            y = text[j] / text[j].norm()
            z = 1.0 if i == j else -1.0
            logit = scale * torch.dot(x, y) + bias
            total = total - torch.log(1 / (1 + torch.exp(-z * logit)))
    return total / n


@pytest.mark.parametrize("n", [1, 3, 8])
@pytest.mark.parametrize(("t", "b"), [(10.0, -10.0), (1.0, 0.0), (3.5, 2.0)])
def test_value_and_gradient_match_the_loop_reference(n, t, b):
    g = torch.Generator().manual_seed(n * 7 + int(t))
    img = torch.randn(n, 6, generator=g, dtype=torch.float64)
    txt = torch.randn(n, 6, generator=g, dtype=torch.float64)
    fast_in = [img.float().requires_grad_(), txt.float().requires_grad_()]
    ref_in = [img.clone().requires_grad_(), txt.clone().requires_grad_()]
    t_fast = torch.tensor(math.log(t)).requires_grad_()
    b_fast = torch.tensor(b).requires_grad_()
    t_ref = torch.tensor(math.log(t), dtype=torch.float64).requires_grad_()
    b_ref = torch.tensor(b, dtype=torch.float64).requires_grad_()
    fast = siglip_loss(*fast_in, logit_scale=t_fast.exp(), logit_bias=b_fast)
    ref = _reference(*ref_in, t_ref.exp(), b_ref)
    fast.backward()
    ref.backward()
    torch.testing.assert_close(fast.double(), ref.detach(), rtol=1e-5, atol=1e-6)
    for f, r in zip([*fast_in, t_fast, b_fast], [*ref_in, t_ref, b_ref], strict=True):
        torch.testing.assert_close(f.grad.double(), r.grad, rtol=1e-4, atol=1e-6)


def test_symmetric_in_the_towers():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    kw = {"logit_scale": 10.0, "logit_bias": -10.0}
    torch.testing.assert_close(siglip_loss(a, b, **kw), siglip_loss(b, a, **kw))


def test_closed_form_for_orthogonal_matches():
    """Rows i of both towers the same unit vector e_i: cos 1 on the diagonal, 0 elsewhere."""
    n, t, b = 4, 10.0, -10.0
    e = torch.eye(n)
    expected = -(math.log(1 / (1 + math.exp(-(t + b)))) + (n - 1) * math.log(1 / (1 + math.exp(b))))
    got = siglip_loss(e, e, logit_scale=t, logit_bias=b)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_bf16_inputs_give_a_float32_loss():
    a, b = torch.randn(4, 8).bfloat16(), torch.randn(4, 8).bfloat16()
    loss = siglip_loss(a, b, logit_scale=10.0, logit_bias=-10.0)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="image and text"):
        siglip_loss(torch.randn(4, 8), torch.randn(3, 8), logit_scale=1.0, logit_bias=0.0)
    with pytest.raises(ValueError, match="gather"):
        siglip_loss(
            torch.randn(4, 8), torch.randn(4, 8), logit_scale=1.0, logit_bias=0.0, gather=True
        )
