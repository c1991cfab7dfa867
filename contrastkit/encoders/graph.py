"""Dense batched graph encoders (GCN, GIN) on packed graphs, in plain PyTorch.

Input: packed graphs (B, K, F + K + 1) from `contrastkit.views.graph` (features, adjacency
rows, present flag). Output: (B, output_dim), the centre node's embedding (slot 0, for
node-level learning) or a masked mean over present nodes (graph-level learning).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

import torch
from torch import Tensor, nn

from contrastkit.data.graph import unpack

__all__ = ["GraphEncoder", "normalized_adjacency"]

Conv = Literal["gcn", "gin"]
Readout = Literal["centre", "mean"]


def normalized_adjacency(adjacency: Tensor, mask: Tensor) -> Tensor:
    """D^-1/2 (A + I) D^-1/2 over present nodes [1]; rows and columns of padding are 0.

    Args:
        adjacency: (B, K, K) symmetric 0/1 adjacency.
        mask: (B, K) 1 for present nodes, 0 for padding.

    Returns:
        (B, K, K) normalised adjacency with self loops.

    [1] Kipf and Welling, "Semi-Supervised Classification with Graph Convolutional
        Networks", ICLR 2017.
    """
    a = adjacency * mask[:, :, None] * mask[:, None, :]
    a = a + torch.diag_embed(mask)
    inv_sqrt = a.sum(-1).clamp(min=1e-12).rsqrt() * (mask > 0)
    return inv_sqrt[:, :, None] * a * inv_sqrt[:, None, :]


class GraphEncoder(nn.Module):
    """GCN [1] or GIN [2] layers on packed dense graphs, then a readout.

    Each layer: GCN h' = ReLU(LayerNorm(Â h W)); GIN h' = MLP((1 + eps) h + A h) with a
    2-layer MLP. Padding nodes are zeroed after each layer. With `jumping` the readout
    concatenates the centre (or mean) embedding of every layer (jumping knowledge [3]),
    so the node's own features are never washed out by a hub neighbourhood.

    Args:
        in_features: F, node feature size of the packed input.
        hidden_dim: width of every layer.
        layers: number of message-passing layers (2 reaches a 2-hop ego-net).
        conv: "gcn" or "gin".
        readout: "centre" (slot 0, node-level) or "mean" (present nodes, graph-level).
        jumping: concatenate the readout of every layer.
        dropout: dropout on each layer's input.

    Attributes:
        output_dim: hidden_dim * layers with `jumping`, else hidden_dim.

    Example:
        >>> enc = GraphEncoder(in_features=8, hidden_dim=32)
        >>> enc(torch.zeros(4, 16, 8 + 16 + 1)).shape
        torch.Size([4, 64])

    [1] Kipf and Welling, ICLR 2017. [2] Xu et al., "How Powerful are Graph Neural
    Networks?", ICLR 2019. [3] Xu et al., "Representation Learning on Graphs with Jumping
    Knowledge Networks", ICML 2018.
    """

    def __init__(
        self,
        in_features: int,
        hidden_dim: int = 256,
        layers: int = 2,
        *,
        conv: Conv = "gcn",
        readout: Readout = "centre",
        jumping: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if in_features < 1 or hidden_dim < 1 or layers < 1:
            raise ValueError(
                f"in_features, hidden_dim and layers must be >= 1, got {in_features}, "
                f"{hidden_dim}, {layers}"
            )
        if conv not in ("gcn", "gin"):
            raise ValueError(f"conv must be 'gcn' or 'gin', got {conv!r}")
        if readout not in ("centre", "mean"):
            raise ValueError(f"readout must be 'centre' or 'mean', got {readout!r}")
        self.in_features, self.conv, self.readout, self.jumping = (
            in_features,
            conv,
            readout,
            jumping,
        )
        dims = [in_features] + [hidden_dim] * layers
        if conv == "gcn":
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))
            self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(layers))
        else:
            self.layers = nn.ModuleList(
                nn.Sequential(nn.Linear(a, b), nn.LayerNorm(b), nn.ReLU(), nn.Linear(b, b))
                for a, b in pairwise(dims)
            )
            self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(layers))
            self.eps = nn.Parameter(torch.zeros(layers))
        self.dropout = nn.Dropout(dropout)
        self.output_dim = hidden_dim * layers if jumping else hidden_dim

    def node_embeddings(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        """Per layer, node embeddings (B, K, hidden_dim); and the present mask (B, K)."""
        feats, adj, mask = unpack(x)
        if feats.shape[-1] != self.in_features:
            raise ValueError(
                f"expected packed graphs (B, K, {self.in_features} + K + 1), "
                f"got {tuple(x.shape)} ({feats.shape[-1]} features)"
            )
        keep = mask[..., None]
        h = feats
        out = []
        if self.conv == "gcn":
            a_hat = normalized_adjacency(adj, mask)
            for lin, norm in zip(self.layers, self.norms, strict=True):
                h = torch.relu(norm(a_hat @ lin(self.dropout(h)))) * keep
                out.append(h)
        else:
            a = adj * mask[:, :, None] * mask[:, None, :]
            for i, (mlp, norm) in enumerate(zip(self.layers, self.norms, strict=True)):
                h = self.dropout(h)
                h = torch.relu(norm(mlp((1 + self.eps[i]) * h + a @ h))) * keep
                out.append(h)
        return out, mask

    def _read(self, h: Tensor, mask: Tensor) -> Tensor:
        if self.readout == "centre":
            return h[:, 0]
        return (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, K, F + K + 1) packed graphs -> (B, output_dim)."""
        hs, mask = self.node_embeddings(x)
        if self.jumping:
            return torch.cat([self._read(h, mask) for h in hs], -1)
        return self._read(hs[-1], mask)
