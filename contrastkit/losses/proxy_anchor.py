"""Proxy-anchor loss (Kim et al. 2020): one learnable proxy per class as the anchor."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ProxyAnchorLoss", "proxy_anchor_loss"]


def _check_settings(alpha: float, delta: float) -> None:
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if not delta >= 0:
        raise ValueError(f"delta must be >= 0, got {delta}")


def proxy_anchor_loss(
    embeddings: Tensor, labels: Tensor, proxies: Tensor, alpha: float = 32.0, delta: float = 0.1
) -> Tensor:
    """The proxy-anchor loss [1] (eq. 4).

    l = 1/|P+| sum_{p in P+} log(1 + sum_{x in X_p+} exp(-alpha (s(x, p) - delta)))
      + 1/|P|  sum_{p in P}  log(1 + sum_{x in X_p-} exp( alpha (s(x, p) + delta)))

    s is the cosine similarity, P all proxies, P+ the proxies of classes present in the
    batch, X_p+ / X_p- the batch rows of / not of p's class. Defaults alpha = 32,
    delta = 0.1 as in [1].

    Args:
        embeddings: (N, D) embeddings, any float dtype (computed in float32).
        labels: (N,) int64 class indices in [0, C).
        proxies: (C, D) one proxy per class (learnable: see `ProxyAnchorLoss`).
        alpha: > 0, the scale.
        delta: >= 0, the margin.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: bad settings, shapes, or labels outside [0, C).

    Prefer it to pair losses when the classes are fixed and known: it needs no mining and
    converges in few epochs; pair losses (`multi_similarity_loss`) suit open class sets.

    Example:
        >>> loss = proxy_anchor_loss(torch.randn(8, 16), torch.arange(8) % 4, torch.randn(4, 16))

    [1] Kim, Kim, Cho and Kwak, "Proxy Anchor Loss for Deep Metric Learning", CVPR 2020.
    """
    _check_settings(alpha, delta)
    if embeddings.ndim != 2 or proxies.ndim != 2 or embeddings.shape[1] != proxies.shape[1]:
        raise ValueError(
            f"embeddings (N, D) and proxies (C, D) must share D, got "
            f"{tuple(embeddings.shape)} and {tuple(proxies.shape)}"
        )
    if labels.shape != (embeddings.shape[0],):
        raise ValueError(
            f"labels must have shape ({embeddings.shape[0]},), got {tuple(labels.shape)}"
        )
    c = proxies.shape[0]
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= c):
        raise ValueError(f"labels must lie in [0, {c}) (one proxy per class), got "
                         f"{int(labels.min())}..{int(labels.max())}")  # fmt: skip
    with torch.autocast(embeddings.device.type, enabled=False):
        sim = F.normalize(embeddings.float(), dim=1) @ F.normalize(proxies.float(), dim=1).T
        member = F.one_hot(labels, c).bool()  # (N, C)
        zero = torch.zeros_like(sim[:1])
        pos = torch.cat([zero, (-alpha * (sim - delta)).masked_fill(~member, float("-inf"))])
        neg = torch.cat([zero, (alpha * (sim + delta)).masked_fill(member, float("-inf"))])
        present = member.any(dim=0)  # P+
        pos_term = pos.logsumexp(dim=0)[present].sum() / present.sum().clamp(min=1)
        return pos_term + neg.logsumexp(dim=0).sum() / c


class ProxyAnchorLoss(nn.Module):
    """`proxy_anchor_loss` with its (C, D) proxies as a parameter, initialised as in the
    authors' code (Kaiming normal, fan-out).

    Train the proxies with a higher learning rate, as [1] does (x100 in the authors' code);
    the `proxy_anchor` method does this through `lr_scaled_parameters`.

    Args:
        num_classes: C.
        dim: D.
        alpha: the scale, see `proxy_anchor_loss`.
        delta: the margin.

    Example:
        >>> loss = ProxyAnchorLoss(4, 16)(torch.randn(8, 16), torch.arange(8) % 4)
    """

    def __init__(self, num_classes: int, dim: int, alpha: float = 32.0, delta: float = 0.1) -> None:
        super().__init__()
        if num_classes < 1 or dim < 1:
            raise ValueError(f"num_classes and dim must be >= 1, got {num_classes}, {dim}")
        _check_settings(alpha, delta)
        self.proxies = nn.Parameter(torch.empty(num_classes, dim))
        nn.init.kaiming_normal_(self.proxies, mode="fan_out")
        self.alpha, self.delta = alpha, delta

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return proxy_anchor_loss(embeddings, labels, self.proxies, self.alpha, self.delta)

    def extra_repr(self) -> str:
        return f"classes={self.proxies.shape[0]}, alpha={self.alpha}, delta={self.delta}"
