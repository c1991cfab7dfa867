"""Projection heads: the MLP between the encoder's representation and the loss."""

from __future__ import annotations

from torch import nn


class ProjectionHead(nn.Sequential):
    """MLP projection head of SimCLR [1]: Linear-BN-ReLU blocks, then a final Linear.

    Args:
        input_dim: size of the encoder output.
        hidden_dim: width of the hidden layers.
        output_dim: size of the projection the loss sees.
        num_layers: number of Linear layers (>= 1); 2 in SimCLR v1, 3 in v2.
        batch_norm_last: add a BatchNorm1d (without affine) after the final layer,
            as in SimCLR v2 and MoCo v3.

    Shapes: (N, input_dim) -> (N, output_dim).

    Example:
        >>> head = ProjectionHead(512, 2048, 128)
        >>> head(torch.randn(4, 512)).shape
        torch.Size([4, 128])

    [1] Chen et al., "A Simple Framework for Contrastive Learning of Visual
        Representations", ICML 2020.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int = 2048,
        output_dim: int = 128,
        num_layers: int = 2,
        batch_norm_last: bool = False,
    ) -> None:
        for name, value in (
            ("input_dim", input_dim),
            ("hidden_dim", hidden_dim),
            ("output_dim", output_dim),
            ("num_layers", num_layers),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        layers: list[nn.Module] = []
        dim = input_dim
        for _ in range(num_layers - 1):
            layers += [
                nn.Linear(dim, hidden_dim, bias=False),
                nn.BatchNorm1d(hidden_dim),
                nn.ReLU(),
            ]
            dim = hidden_dim
        layers.append(nn.Linear(dim, output_dim, bias=not batch_norm_last))
        if batch_norm_last:
            layers.append(nn.BatchNorm1d(output_dim, affine=False))
        super().__init__(*layers)
        self.input_dim = input_dim
        self.output_dim = output_dim
