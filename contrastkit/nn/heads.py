"""Projection heads: the MLP between the encoder's representation and the loss."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def _check_sizes(**sizes: int) -> None:
    """Raise ValueError naming the first size below 1."""
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


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
        _check_sizes(
            input_dim=input_dim, hidden_dim=hidden_dim, output_dim=output_dim, num_layers=num_layers
        )
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


class DINOHead(nn.Module):
    """DINO's head [1]: an MLP to a bottleneck, L2-normalised, then a weight-normalised
    linear layer without bias to `output_dim` logits.

    MLP: `num_layers` Linear layers with GELU between them (no BatchNorm, as in [1]'s
    default); the last layer's rows are unit vectors (weight normalisation with its scale
    fixed to 1, the official `norm_last_layer=True`), so a logit is a cosine similarity.
    "The projection head consists of a 3-layer multi-layer perceptron (MLP) with hidden
    dimension 2048 followed by l2 normalization and a weight normalized fully connected
    layer with K dimensions" ([1], sec. 3.1).

    Args:
        input_dim: size of the encoder output.
        hidden_dim: width of the hidden layers (2048 in [1]).
        bottleneck_dim: size of the normalised bottleneck (256 in [1]).
        output_dim: K, the number of logits (65536 in [1]; a few thousand suit small data).
        num_layers: Linear layers of the MLP (>= 1; 3 in [1]).
        batch_norm: BatchNorm1d after each hidden Linear (the official `use_bn_in_head`).

    Attributes:
        frozen_last_layer: when True the last layer gets no gradient ([1] freezes it for
            the first epoch; the method sets it).

    Shapes: (N, input_dim) -> (N, output_dim).

    Example:
        >>> head = DINOHead(512, 2048, 256, 4096)
        >>> head(torch.randn(4, 512)).shape
        torch.Size([4, 4096])

    [1] Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        output_dim: int = 65536,
        num_layers: int = 3,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        _check_sizes(
            input_dim=input_dim,
            hidden_dim=hidden_dim,
            bottleneck_dim=bottleneck_dim,
            output_dim=output_dim,
            num_layers=num_layers,
        )
        layers: list[nn.Module] = []
        dim = input_dim
        for _ in range(num_layers - 1):
            layers += [nn.Linear(dim, hidden_dim)]
            layers += [nn.BatchNorm1d(hidden_dim)] if batch_norm else []
            layers += [nn.GELU()]
            dim = hidden_dim
        layers.append(nn.Linear(dim, bottleneck_dim))
        # PyTorch's default initialisation, not the official truncated normal (std 0.02):
        # sized for 2048-wide layers, that leaves a narrower head's output near 0, where
        # the normalisation's gradient (1 / |x|) throws the bias far out in a few steps
        # and every item gets the same output (collapse).
        self.mlp = nn.Sequential(*layers)
        self.last_layer = nn.Linear(bottleneck_dim, output_dim, bias=False)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.frozen_last_layer = False

    def forward(self, x: Tensor) -> Tensor:
        x = F.normalize(self.mlp(x), dim=-1)
        w = self.last_layer.weight
        w = F.normalize(w.detach() if self.frozen_last_layer else w, dim=1)
        return x @ w.to(x.dtype).T
