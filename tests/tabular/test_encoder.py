"""TabularMLP: output shape, categorical embeddings, config round trip."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data.tabular_datasets import load_table_splits
from contrastkit.encoders.tabular import TabularMLP
from contrastkit.methods import BYOL, SimCLR
from contrastkit.methods.base import Batch


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm", "none"])
def test_output_shape_on_a_real_table(norm: str) -> None:
    data = load_table_splits("hpc")
    encoder = TabularMLP.from_schema(data.schema, output_dim=32, norm=norm)
    assert encoder.output_dim == 32
    assert len(encoder.embeddings) == len(data.schema.categorical)
    assert encoder(data.train_x[:16]).shape == (16, 32)


def test_categorical_codes_reach_their_embedding() -> None:
    torch.manual_seed(0)
    encoder = TabularMLP(num_numeric=2, cardinalities=[5], norm="none").eval()
    x = torch.tensor([[0.5, -0.5, 2.0], [0.5, -0.5, 3.0]])
    out = encoder(x)
    assert not torch.allclose(out[0], out[1])
    out.sum().backward()
    grad = encoder.embeddings[0].weight.grad
    assert grad[2].abs().sum() > 0 and grad[3].abs().sum() > 0 and grad[4].abs().sum() == 0


def test_rebuilt_from_config_and_wrong_width_rejected() -> None:
    encoder = TabularMLP(3, [4, 7], hidden_dim=16, num_layers=2, output_dim=8)
    twin = TabularMLP.from_config(encoder.config.to_dict())
    twin.load_state_dict(encoder.state_dict())
    x = torch.cat([torch.randn(5, 3), torch.randint(0, 4, (5, 2)).float()], dim=1)
    assert torch.equal(encoder.eval()(x), twin.eval()(x))
    with pytest.raises(ValueError, match=r"expected rows \(B, 5\)"):
        encoder(torch.randn(5, 4))
    with pytest.raises(ValueError, match="norm must be one of"):
        TabularMLP(3, norm="group")


def test_methods_take_the_encoder_unchanged() -> None:
    x = torch.cat([torch.randn(8, 3), torch.randint(0, 4, (8, 1)).float()], dim=1)
    for method in (
        SimCLR(TabularMLP(3, [4], output_dim=16), temperature=1.0),
        BYOL(TabularMLP(3, [4], output_dim=16)),
    ):
        out = method.training_step(Batch(views=[x, x + 0.1]))
        assert out.loss.isfinite()
        out.loss.backward()
