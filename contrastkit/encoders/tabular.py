"""MLP encoder for packed table rows: numeric columns plus one embedding per categorical
column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.tabular_schema import TableSchema

__all__ = ["TabularEncoderConfig", "TabularMLP"]

_NORMS = ("batchnorm", "layernorm", "none")


def embedding_size(cardinality: int) -> int:
    """Default embedding width of a categorical column: min(16, ceil(cardinality / 2)), >= 2."""
    return max(2, min(16, (cardinality + 1) // 2))


@dataclass
class TabularEncoderConfig:
    """Everything needed to rebuild a `TabularMLP` (saved as JSON next to its weights)."""

    num_numeric: int
    cardinalities: list[int] = field(default_factory=list)
    hidden_dim: int = 256
    num_layers: int = 4
    output_dim: int = 256
    norm: str = "batchnorm"
    dropout: float = 0.0
    embedding_dims: list[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TabularMLP(nn.Module):
    """MLP over packed table rows (SCARF's encoder [1]: 4 ReLU layers of 256 units).

    Each categorical code column goes through its own `nn.Embedding`; the embeddings are
    concatenated with the numeric block and fed to `num_layers` Linear layers, each but
    the last followed by a norm and ReLU. The last layer is linear, so the representation
    is not clipped at zero.

    Norm choice: BatchNorm by default (as in the paper's encoders and the image encoders
    here; SimCLR encodes all views in one pass so statistics cover both views);
    "layernorm" removes the train/eval difference, "none" gives a plain ReLU MLP.

    Args:
        num_numeric: P, the real-valued columns at the front of each row.
        cardinalities: codes per categorical column (the Q columns after the numeric ones).
        hidden_dim: width of the hidden layers.
        num_layers: Linear layers (>= 1).
        output_dim: representation size.
        norm: "batchnorm", "layernorm" or "none".
        dropout: dropout after each hidden ReLU.
        embedding_dims: per categorical column; default `embedding_size(cardinality)`.

    Shapes: (B, P + Q) float -> (B, output_dim).

    Example:
        >>> encoder = TabularMLP(num_numeric=3, cardinalities=[5, 4])
        >>> encoder(torch.tensor([[0.1, -1.0, 2.0, 3.0, 0.0]])).shape
        torch.Size([1, 256])

    [1] Bahri, Jiang, Tay and Metzler, "SCARF: Self-Supervised Contrastive Learning using
        Random Feature Corruption", ICLR 2022.
    """

    def __init__(
        self,
        num_numeric: int,
        cardinalities: Sequence[int] = (),
        *,
        hidden_dim: int = 256,
        num_layers: int = 4,
        output_dim: int = 256,
        norm: str = "batchnorm",
        dropout: float = 0.0,
        embedding_dims: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if num_numeric < 0 or (num_numeric == 0 and not cardinalities):
            raise ValueError(
                f"need at least one column, got num_numeric={num_numeric} "
                f"and cardinalities={list(cardinalities)}"
            )
        if any(c < 1 for c in cardinalities):
            raise ValueError(f"cardinalities must be >= 1, got {list(cardinalities)}")
        for name, value in (
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
            ("output_dim", output_dim),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if norm not in _NORMS:
            raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        dims = list(embedding_dims or [embedding_size(c) for c in cardinalities])
        if len(dims) != len(cardinalities):
            raise ValueError(
                f"embedding_dims has {len(dims)} entries for {len(cardinalities)} columns"
            )
        self.config = TabularEncoderConfig(
            num_numeric,
            list(cardinalities),
            hidden_dim,
            num_layers,
            output_dim,
            norm,
            dropout,
            dims,
        )
        self.num_numeric = num_numeric
        self.output_dim = output_dim
        self.embeddings = nn.ModuleList(
            nn.Embedding(c, d) for c, d in zip(cardinalities, dims, strict=True)
        )
        layers: list[nn.Module] = []
        width = num_numeric + sum(dims)
        for i in range(num_layers):
            last = i == num_layers - 1
            out = output_dim if last else hidden_dim
            layers.append(nn.Linear(width, out))
            if not last:
                if norm == "batchnorm":
                    layers.append(nn.BatchNorm1d(out))
                elif norm == "layernorm":
                    layers.append(nn.LayerNorm(out))
                layers.append(nn.ReLU(inplace=True))
                if dropout:
                    layers.append(nn.Dropout(dropout))
            width = out
        self.mlp = nn.Sequential(*layers)

    @classmethod
    def from_schema(cls, schema: TableSchema, **kwargs: Any) -> TabularMLP:
        """An encoder for rows packed by `schema` (kwargs as in the constructor)."""
        return cls(schema.num_numeric, schema.cardinalities, **kwargs)

    @classmethod
    def from_config(cls, config: TabularEncoderConfig | dict[str, Any]) -> TabularMLP:
        """Rebuild an encoder from its `config` (e.g. the saved JSON)."""
        c = config if isinstance(config, TabularEncoderConfig) else TabularEncoderConfig(**config)
        return cls(
            c.num_numeric,
            c.cardinalities,
            hidden_dim=c.hidden_dim,
            num_layers=c.num_layers,
            output_dim=c.output_dim,
            norm=c.norm,
            dropout=c.dropout,
            embedding_dims=c.embedding_dims,
        )

    def forward(self, x: Tensor) -> Tensor:
        expected = self.num_numeric + len(self.embeddings)
        if x.dim() != 2 or x.shape[1] != expected:
            raise ValueError(f"expected rows (B, {expected}), got {tuple(x.shape)}")
        parts = [x[:, : self.num_numeric]]
        codes = x[:, self.num_numeric :].long()
        parts += [emb(codes[:, j]) for j, emb in enumerate(self.embeddings)]
        return self.mlp(torch.cat(parts, dim=1))
