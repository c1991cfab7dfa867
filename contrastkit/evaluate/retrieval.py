"""Retrieval metrics for queries against a corpus: recall@k, MRR@k, nDCG@k."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["rank_corpus", "retrieval_metrics"]


def rank_corpus(queries: Tensor, corpus: Tensor, k: int, *, chunk: int = 1024) -> Tensor:
    """Indices of the k most cosine-similar corpus rows for every query.

    Args:
        queries: (Q, D) embeddings.
        corpus: (N, D) embeddings.
        k: how many to return (at most N).
        chunk: queries scored per matrix product (bounds memory at chunk x N).

    Returns:
        (Q, k) int64 corpus indices, best first.
    """
    if queries.ndim != 2 or corpus.ndim != 2 or queries.shape[1] != corpus.shape[1]:
        raise ValueError(
            f"queries (Q, D) and corpus (N, D) must share D; got {tuple(queries.shape)} and "
            f"{tuple(corpus.shape)}"
        )
    k = min(k, corpus.shape[0])
    c = F.normalize(corpus.float(), dim=1)
    out = []
    for start in range(0, queries.shape[0], chunk):
        q = F.normalize(queries[start : start + chunk].float(), dim=1)
        out.append((q @ c.T).topk(k, dim=1).indices)
    return torch.cat(out) if out else torch.empty(0, k, dtype=torch.int64)


def retrieval_metrics(
    queries: Tensor,
    corpus: Tensor,
    relevant: Tensor | Sequence[Collection[int]],
    *,
    ks: Sequence[int] = (1, 10),
    cutoff: int = 10,
) -> dict[str, float]:
    """Recall@k for each k, and MRR@cutoff and nDCG@cutoff (binary relevance).

    Args:
        queries: (Q, D) query embeddings.
        corpus: (N, D) corpus embeddings (cosine similarity ranks them).
        relevant: per query, the corpus indices that answer it: a (Q,) tensor when each
            query has exactly one, or Q collections.
        ks: cut-offs for recall@k (the fraction of a query's relevant items in its top k,
            averaged over queries; with one relevant item, the hit rate).
        cutoff: depth of MRR and nDCG.

    Returns:
        {"recall@1": ..., "recall@10": ..., "mrr@10": ..., "ndcg@10": ...}
    """
    single = relevant if isinstance(relevant, Tensor) else None
    if single is not None:
        relevant = [{int(i)} for i in single.tolist()]
    if len(relevant) != queries.shape[0]:
        raise ValueError(f"relevant has {len(relevant)} entries for {queries.shape[0]} queries")
    if any(not r for r in relevant):
        raise ValueError("every query needs at least one relevant corpus index")
    depth = max(*ks, cutoff)
    top = rank_corpus(queries, corpus, depth)
    depth = top.shape[1]
    n_relevant = torch.tensor([len(r) for r in relevant], dtype=torch.float64)
    if single is not None:
        hits = top == single.to(top.dtype)[:, None]
    else:  # set lookups on the (Q, depth) top lists
        hits = torch.tensor(
            [[int(i) in rel for i in row] for row, rel in zip(top.tolist(), relevant, strict=True)],
            dtype=torch.bool,
        ).reshape(top.shape)
    out = {}
    for k in ks:
        out[f"recall@{k}"] = float((hits[:, :k].sum(1) / n_relevant).mean())
    cut = min(cutoff, depth)
    h = hits[:, :cut]
    first = torch.where(h.any(1), h.float().argmax(1).double() + 1, torch.inf)
    out[f"mrr@{cutoff}"] = float((1.0 / first).mean())
    discount = 1.0 / torch.log2(torch.arange(cut, dtype=torch.float64) + 2.0)
    dcg = (h.double() * discount).sum(1)
    ideal = torch.cumsum(discount, 0)[(n_relevant.clamp(max=cut) - 1).long()]
    out[f"ndcg@{cutoff}"] = float((dcg / ideal).mean())
    return out
