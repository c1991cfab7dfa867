"""InfoNCE family: NT-Xent (SimCLR) over two or more views, and query-key InfoNCE (MoCo, CLIP).

Both work on logits with a log-sum-exp in float32, whatever the input dtype, so bf16
and fp16 embeddings do not overflow; both can gather candidates from every process
with a gradient (local rows against global columns, memory linear in world size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.tiled import AUTO_TILE_ELEMENTS, DEFAULT_TILE, tiled_cross_entropy
from contrastkit.nn.distributed import gather_with_grad, rank, require_distributed


def check_temperature(temperature: float | Tensor) -> None:
    if isinstance(temperature, Tensor):
        if temperature.numel() != 1:
            raise ValueError(f"temperature must be a scalar, got shape {tuple(temperature.shape)}")
        if not bool(temperature.detach() > 0):
            raise ValueError(f"temperature must be > 0, got {temperature.item()}")
    elif not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


def _check_rows(name: str, z: Tensor, like: Tensor | None = None) -> None:
    if z.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, D) tensor, got shape {tuple(z.shape)}")
    if like is not None and z.shape != like.shape:
        raise ValueError(
            f"{name} must have the shape of the first view {tuple(like.shape)}, "
            f"got {tuple(z.shape)}"
        )


def _cross_entropy(
    anchors: Tensor,
    columns: Tensor,
    negatives: Tensor | None,
    temperature: float | Tensor,
    positives: Tensor,
    self_index: Tensor | None,
    tile: int | None,
) -> Tensor:
    """(R, D) anchors against (K, D) columns [+ (M, D) negatives], float32 cosine logits /
    temperature, multi-positive cross-entropy; in tiles when `tile` says so (None: above
    AUTO_TILE_ELEMENTS similarity entries; 0: never)."""
    with torch.autocast(anchors.device.type, enabled=False):
        if negatives is not None:
            columns = torch.cat([columns, F.normalize(negatives.float(), dim=1)], dim=0)
        if tile is None:
            big = anchors.shape[0] * columns.shape[0] > AUTO_TILE_ELEMENTS
            tile = DEFAULT_TILE if big else 0
        if tile:
            return tiled_cross_entropy(anchors, columns, positives, self_index, temperature, tile)
        logits = anchors @ columns.T / temperature
        return _multi_positive_cross_entropy(logits, positives, self_index)


def _multi_positive_cross_entropy(
    logits: Tensor, positives: Tensor, self_index: Tensor | None
) -> Tensor:
    """Mean over rows and positives of -log softmax(logits)[positive], self column masked.

    Args:
        logits: (R, K) float32.
        positives: (R, P) column index of each row's positives.
        self_index: (R,) column that holds the row itself (excluded from the softmax), or None.
    """
    if self_index is not None:
        logits = logits.scatter(1, self_index[:, None], float("-inf"))
    log_norm = torch.logsumexp(logits, dim=1, keepdim=True)
    return (log_norm - logits.gather(1, positives)).mean()


def nt_xent(
    *views: Tensor,
    temperature: float | Tensor = 0.1,
    negatives: Tensor | None = None,
    gather: bool = False,
    tile: int | None = None,
) -> Tensor:
    """NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR [1].

    Every row of every view is an anchor; the same item's rows in the other views are its
    positives; all other rows of all views (and the optional extra `negatives`) are its
    negatives. With two views this is SimCLR's loss; with V > 2 views each anchor has V-1
    positives and the loss averages their log-likelihoods (the multi-positive form of
    SupCon [2], eq. 2, with item identity as the label).

    Args:
        *views: V >= 2 tensors of shape (N, D), row i of each view from item i. Any dtype;
            the similarities are computed in float32.
        temperature: softmax temperature tau > 0 (a float or a scalar tensor, which may be
            learnable).
        negatives: optional (M, D) extra negatives for every anchor (e.g. a memory bank);
            they receive no positive role.
        gather: gather the views of every process (torch.distributed) as extra columns,
            with a gradient; each process keeps its own rows as anchors. The loss is then
            the mean over this process's anchors; averaging it over processes (DDP does so
            for the gradients) gives the loss of the whole global batch.
        tile: compute the similarity matrix in (tile x tile) blocks without holding it
            (same value and gradient; see `contrastkit.losses.tiled`). None tiles
            automatically above 2**26 entries; 0 never tiles.

    Returns:
        Scalar float32 loss.

    Raises:
        ValueError: fewer than 2 views, shape mismatch, temperature <= 0, or gather=True
            without an initialised process group.

    Prefer `info_nce` when queries and keys play different roles (MoCo, CLIP, text
    retrieval): it only compares queries with keys.

    Example:
        >>> z_a, z_b = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = nt_xent(z_a, z_b, temperature=0.2)

    [1] Chen et al., "A Simple Framework for Contrastive Learning of Visual
        Representations", ICML 2020.
    [2] Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020.
    """
    if len(views) < 2:
        raise ValueError(f"nt_xent needs at least 2 views, got {len(views)}")
    for v, z in enumerate(views):
        _check_rows(f"views[{v}]", z, views[0])
    if negatives is not None and (negatives.ndim != 2 or negatives.shape[1] != views[0].shape[1]):
        raise ValueError(
            f"negatives must be (M, {views[0].shape[1]}), got {tuple(negatives.shape)}"
        )
    check_temperature(temperature)
    if gather:
        require_distributed()

    n_views, n = len(views), views[0].shape[0]
    with torch.autocast(views[0].device.type, enabled=False):
        local = [F.normalize(z.float(), dim=1) for z in views]
        anchors = torch.cat(local, dim=0)  # (V*n, D)
        if gather:
            columns = torch.cat([gather_with_grad(z) for z in local], dim=0)  # (V*W*n, D)
            offset = rank() * n
        else:
            columns, offset = anchors, 0
    n_global = columns.shape[0] // n_views

    device = anchors.device
    view_of_row = torch.arange(n_views, device=device).repeat_interleave(n)  # (V*n,)
    item_col = torch.arange(n, device=device).repeat(n_views) + offset  # (V*n,)
    self_index = view_of_row * n_global + item_col
    other_views = torch.stack(
        [torch.cat([torch.arange(v), torch.arange(v + 1, n_views)]) for v in range(n_views)]
    ).to(device)  # (V, V-1)
    positives = other_views[view_of_row] * n_global + item_col[:, None]  # (V*n, V-1)

    return _cross_entropy(anchors, columns, negatives, temperature, positives, self_index, tile)


def info_nce(
    query: Tensor,
    key: Tensor,
    *,
    temperature: float | Tensor = 0.1,
    negatives: Tensor | None = None,
    symmetric: bool = False,
    gather: bool = False,
    tile: int | None = None,
) -> Tensor:
    """InfoNCE [1]: each query's positive is the key of the same row; the other keys of the
    batch and the optional extra `negatives` are its negatives.

    Args:
        query: (N, D) query embeddings.
        key: (N, D) key embeddings, row i the positive of query i.
        temperature: softmax temperature tau > 0 (float or scalar tensor).
        negatives: optional (M, D) extra negatives (a MoCo queue, hard negatives).
        symmetric: also score keys against queries and average both directions (CLIP [2]);
            `negatives` then only join the query-to-key direction.
        gather: use the keys (and queries, if symmetric) of every process as columns, with
            a gradient; see `nt_xent` for the convention.
        tile: similarity blocks, as in `nt_xent` (None: automatic; 0: never).

    Returns:
        Scalar float32 loss.

    Prefer `nt_xent` for SimCLR-style training with interchangeable views: it also uses
    the other view's rows as negatives.

    Example:
        >>> q, k = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = info_nce(q, k, temperature=0.07, symmetric=True)

    [1] van den Oord et al., "Representation Learning with Contrastive Predictive
        Coding", 2018.
    [2] Radford et al., "Learning Transferable Visual Models From Natural Language
        Supervision", ICML 2021.
    """
    _check_rows("query", query)
    _check_rows("key", key, query)
    if negatives is not None and (negatives.ndim != 2 or negatives.shape[1] != query.shape[1]):
        raise ValueError(f"negatives must be (M, {query.shape[1]}), got {tuple(negatives.shape)}")
    check_temperature(temperature)
    if gather:
        require_distributed()

    n = query.shape[0]
    with torch.autocast(query.device.type, enabled=False):
        q = F.normalize(query.float(), dim=1)
        k = F.normalize(key.float(), dim=1)
        k_cols = gather_with_grad(k) if gather else k
        offset = rank() * n if gather else 0
    positives = (torch.arange(n, device=query.device) + offset)[:, None]
    loss = _cross_entropy(q, k_cols, negatives, temperature, positives, None, tile)
    if symmetric:
        q_cols = gather_with_grad(q) if gather else q
        loss_k = _cross_entropy(k, q_cols, None, temperature, positives, None, tile)
        loss = (loss + loss_k) / 2
    return loss


def queue_info_nce(
    query: Tensor, key: Tensor, queue: Tensor, *, temperature: float | Tensor = 0.2
) -> Tensor:
    """MoCo's InfoNCE [1]: each query against its own key (positive) and the rows of a
    queue (negatives) only; the other keys of the batch take no part.

    Args:
        query: (N, D) queries (normalised here).
        key: (N, D) keys, row i the positive of query i (normalised here; no gradient is
            needed, MoCo's keys come from the momentum encoder).
        queue: (K, D) negatives, assumed L2-normalised (they were keys).
        temperature: tau > 0.

    Returns:
        Scalar float32 loss, mean over i of
        -log(exp(q_i.k_i / tau) / (exp(q_i.k_i / tau) + sum_j exp(q_i.n_j / tau))).

    [1] He et al., "Momentum Contrast for Unsupervised Visual Representation Learning",
        CVPR 2020, algorithm 1.
    """
    _check_rows("query", query)
    _check_rows("key", key, query)
    if queue.ndim != 2 or queue.shape[1] != query.shape[1]:
        raise ValueError(f"queue must be (K, {query.shape[1]}), got {tuple(queue.shape)}")
    check_temperature(temperature)
    with torch.autocast(query.device.type, enabled=False):
        q = F.normalize(query.float(), dim=1)
        k = F.normalize(key.float(), dim=1)
        positive = (q * k).sum(dim=1, keepdim=True)  # (N, 1)
        negative = q @ queue.float().T  # (N, K)
        logits = torch.cat([positive, negative], dim=1) / temperature
        return torch.logsumexp(logits, dim=1).mean() - logits[:, 0].mean()


class NTXentLoss(nn.Module):
    """Module form of `nt_xent` holding the temperature and the gather flag.

    Args:
        temperature: tau > 0.
        gather: gather candidates across processes (needs torch.distributed initialised).

    Example:
        >>> loss_fn = NTXentLoss(temperature=0.2)
        >>> loss = loss_fn(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(self, temperature: float = 0.1, gather: bool = False) -> None:
        super().__init__()
        check_temperature(temperature)
        if gather:
            require_distributed()
        self.temperature = temperature
        self.gather = gather

    def forward(self, *views: Tensor, negatives: Tensor | None = None) -> Tensor:
        return nt_xent(
            *views, temperature=self.temperature, negatives=negatives, gather=self.gather
        )

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, gather={self.gather}"


class InfoNCELoss(nn.Module):
    """Module form of `info_nce`.

    Args:
        temperature: tau > 0.
        symmetric: average query->key and key->query (CLIP).
        gather: gather keys across processes (needs torch.distributed initialised).
    """

    def __init__(self, temperature: float = 0.1, symmetric: bool = False, gather: bool = False):
        super().__init__()
        check_temperature(temperature)
        if gather:
            require_distributed()
        self.temperature = temperature
        self.symmetric = symmetric
        self.gather = gather

    def forward(self, query: Tensor, key: Tensor, negatives: Tensor | None = None) -> Tensor:
        return info_nce(
            query,
            key,
            temperature=self.temperature,
            negatives=negatives,
            symmetric=self.symmetric,
            gather=self.gather,
        )

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, symmetric={self.symmetric}, gather={self.gather}"
