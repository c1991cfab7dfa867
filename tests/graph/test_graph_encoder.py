"""The dense GCN / GIN encoder against slow, obvious references."""

from __future__ import annotations

import pytest
import torch

from contrastkit.encoders.graph import GraphEncoder, normalized_adjacency
from contrastkit.views.graph import pack


def _hand_graph() -> torch.Tensor:
    """One packed graph of 5 slots: a path 0-1-2 plus node 3 joined to 0, slot 4 empty."""
    adj = torch.zeros(5, 5)
    for u, v in [(0, 1), (1, 2), (0, 3)]:
        adj[u, v] = adj[v, u] = 1
    mask = torch.tensor([1.0, 1, 1, 1, 0])
    feats = torch.randn(5, 3, generator=torch.Generator().manual_seed(0)) * mask[:, None]
    return pack(feats[None], adj[None], mask[None])


def _slow_gcn(enc: GraphEncoder, x: torch.Tensor) -> torch.Tensor:
    """Node-by-node GCN: h'_i = ReLU(LN(sum_j (A+I)_ij / sqrt(d_i d_j) W h_j))."""
    feats, adj, mask = x[0, :, :3], x[0, :, 3:8], x[0, :, 8]
    present = [i for i in range(5) if mask[i] > 0]
    degree = {i: 1 + sum(float(adj[i, j]) for j in present) for i in present}
    h = feats
    outs = []
    for lin, norm in zip(enc.layers, enc.norms, strict=True):
        wh = lin(h)
        new = torch.zeros(5, wh.shape[1])
        for i in present:
            acc = torch.zeros(wh.shape[1])
            for j in present:
                if i == j or adj[i, j] > 0:
                    acc = acc + wh[j] / (degree[i] * degree[j]) ** 0.5
            new[i] = torch.relu(norm(acc))
        h = new
        outs.append(h)
    return torch.cat([o[0] for o in outs])  # jumping-knowledge centre readout


def test_normalized_adjacency_matches_hand_values() -> None:
    x = _hand_graph()
    a = normalized_adjacency(x[:, :, 3:8], x[:, :, 8])[0]
    assert a[0, 0] == pytest.approx(1 / 3)  # degree 2 + self loop
    assert a[0, 1] == pytest.approx(1 / (3 * 3) ** 0.5)
    assert a[1, 2] == pytest.approx(1 / (3 * 2) ** 0.5)
    assert a[0, 2] == 0 and (a[4] == 0).all() and (a[:, 4] == 0).all()


def test_dense_gcn_equals_slow_reference() -> None:
    torch.manual_seed(0)
    enc = GraphEncoder(3, hidden_dim=4, layers=2, conv="gcn", readout="centre").eval()
    x = _hand_graph()
    assert torch.allclose(enc(x)[0], _slow_gcn(enc, x), atol=1e-5)


def test_padding_does_not_change_outputs() -> None:
    torch.manual_seed(0)
    for conv in ("gcn", "gin"):
        enc = GraphEncoder(3, hidden_dim=8, conv=conv, readout="mean").eval()
        x = _hand_graph()
        noisy = x.clone()
        noisy[0, 4, :3] = 5.0  # features on an empty slot are ignored
        assert torch.allclose(enc(x), enc(noisy), atol=1e-6)
        smaller = pack(x[:, :4, :3], x[:, :4, 3:7], x[:, :4, 8])  # drop the empty slot
        assert torch.allclose(enc(x), enc(smaller), atol=1e-5)


@pytest.mark.parametrize("conv", ["gcn", "gin"])
@pytest.mark.parametrize("readout", ["centre", "mean"])
@pytest.mark.parametrize("jumping", [True, False])
def test_output_shape(conv: str, readout: str, jumping: bool) -> None:
    enc = GraphEncoder(6, hidden_dim=16, layers=3, conv=conv, readout=readout, jumping=jumping)
    out = enc(torch.rand(7, 9, 6 + 9 + 1))
    assert out.shape == (7, enc.output_dim)
    assert enc.output_dim == (48 if jumping else 16)


def test_rejects_wrong_feature_size() -> None:
    enc = GraphEncoder(6)
    with pytest.raises(ValueError, match=r"expected packed graphs \(B, K, 6 \+ K \+ 1\)"):
        enc(torch.zeros(2, 4, 5 + 4 + 1))
