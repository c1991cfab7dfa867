"""Proxy-anchor loss against a slow reference looping over proxies and rows (value and
gradient for embeddings and proxies)."""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses.proxy_anchor import ProxyAnchorLoss, proxy_anchor_loss


def reference(x, labels, proxies, alpha, delta):
    labels = labels.tolist()
    c = proxies.shape[0]
    pos_total, neg_total, present = x.new_zeros(()), x.new_zeros(()), 0
    for p in range(c):
        s_pos, s_neg = x.new_zeros(()), x.new_zeros(())
        for i in range(x.shape[0]):
            s = x[i] @ proxies[p] / (x[i].norm() * proxies[p].norm())
            if labels[i] == p:
                s_pos = s_pos + torch.exp(-alpha * (s - delta))
            else:
                s_neg = s_neg + torch.exp(alpha * (s + delta))
        if p in labels:
            present += 1
            pos_total = pos_total + torch.log(1 + s_pos)
        neg_total = neg_total + torch.log(1 + s_neg)
    return pos_total / present + neg_total / c


@pytest.mark.parametrize("alpha,delta", [(32.0, 0.1), (4.0, 0.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_and_gradients_match_the_reference(seed, alpha, delta):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(10, 6, generator=g, requires_grad=True)
    proxies = torch.randn(5, 6, generator=g, requires_grad=True)
    labels = torch.randint(0, 4, (10,), generator=g)  # class 4 absent: only in the negative term
    got = proxy_anchor_loss(x, labels, proxies, alpha, delta)
    gx, gp = torch.autograd.grad(got, [x, proxies])
    x64 = x.detach().double().requires_grad_()
    p64 = proxies.detach().double().requires_grad_()
    want = reference(x64, labels, p64, alpha, delta)
    wx, wp = torch.autograd.grad(want, [x64, p64])
    assert got.item() == pytest.approx(want.item(), rel=1e-5)
    torch.testing.assert_close(gx, wx.float(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(gp, wp.float(), rtol=1e-4, atol=1e-6)


def test_module_holds_learnable_proxies_and_checks_labels():
    loss_fn = ProxyAnchorLoss(3, 4)
    assert loss_fn.proxies.shape == (3, 4) and loss_fn.proxies.requires_grad
    loss_fn(torch.randn(6, 4), torch.arange(6) % 3).backward()
    assert loss_fn.proxies.grad is not None and loss_fn.proxies.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        loss_fn(torch.randn(2, 4), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="alpha"):
        ProxyAnchorLoss(3, 4, alpha=0)
