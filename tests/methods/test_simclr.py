"""SimCLR's training step and argument checks (its learning test on Fashion-MNIST, with
every other method's, is tests/methods/test_methods_learn.py)."""

from __future__ import annotations

import pytest
import torch

from contrastkit.encoders import CompactCNN
from contrastkit.methods import Batch, SimCLR


def test_training_step_returns_loss_and_metrics():
    method = SimCLR(CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=8)
    views = [torch.rand(4, 1, 12, 12), torch.rand(4, 1, 12, 12)]
    out = method.training_step(Batch(views))
    assert out.loss.ndim == 0 and out.loss.requires_grad
    assert set(out.metrics) >= {"loss", "z_std"}
    with pytest.raises(ValueError, match="2 views"):
        method.training_step(Batch(views[:1]))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="temperature"):
        SimCLR(CompactCNN(1), temperature=0)
    with pytest.raises(ValueError, match="gather"):
        SimCLR(CompactCNN(1), gather=True)
    with pytest.raises(TypeError, match=r"nn\.Module"):
        SimCLR("resnet")
