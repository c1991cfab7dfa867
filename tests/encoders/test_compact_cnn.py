"""CompactCNN pools before a stage's last ReLU: the same values, gradients and names as
the textbook conv-BN-ReLU-pool order."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from contrastkit.encoders.vision import CompactCNN


def textbook_order(model: CompactCNN) -> nn.Sequential:
    """The same modules with every max-pool moved after the ReLU it precedes."""
    layers = list(copy.deepcopy(model.features))
    for i in range(len(layers) - 1):
        if isinstance(layers[i], nn.MaxPool2d) and isinstance(layers[i + 1], nn.ReLU):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    return nn.Sequential(*layers)


@pytest.mark.parametrize(("side", "blocks"), [(20, 1), (28, 1), (21, 2), (32, [1, 2, 1, 2])])
def test_values_and_gradients_match_the_textbook_order(side, blocks):
    torch.manual_seed(0)
    model = CompactCNN(in_channels=2, widths=(8, 16, 16, 24), blocks=blocks, pool_size=2)
    model = model.double()
    reference = textbook_order(model)
    assert [type(m) for m in reference] != [type(m) for m in model.features]
    x = torch.randn(6, 2, side, side, dtype=torch.float64)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    got, want = model.features(a), reference(b)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    g = torch.randn_like(want)
    got.backward(g)
    want.backward(g)
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)
    for (name, p), q in zip(model.features.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=0, msg=name)
    # running statistics moved the same way
    for m, r in zip(model.features, reference, strict=True):
        if isinstance(m, nn.BatchNorm2d):
            torch.testing.assert_close(m.running_mean, r.running_mean, rtol=0, atol=0)


def test_parameter_names_are_those_of_the_textbook_order():
    """Checkpoints written before the reorder load: only parameterless layers moved."""
    model = CompactCNN(in_channels=1, widths=(32, 64, 128, 256), pool_size=2)
    assert list(model.features.state_dict()) == list(textbook_order(model).state_dict())
    assert isinstance(model.features[2], nn.MaxPool2d) and isinstance(model.features[3], nn.ReLU)
    assert isinstance(model.features[-1], nn.ReLU)  # the last stage ends with its ReLU
