"""Zero-shot classification by text prompts, and image<->text retrieval recall@k.

The functions take embeddings, so they work for any pair of towers; `embed_image_text`
runs a CLIP-style model (with `embed_image` and `embed_text`) over stored images and texts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.data.image_text import ImageTextData
from contrastkit.evaluate.retrieval import retrieval_metrics
from contrastkit.nn.placement import module_device, to_device

__all__ = [
    "class_embeddings",
    "cross_modal_recall",
    "embed_image_text",
    "zero_shot_accuracy",
    "zero_shot_balanced_accuracy",
    "zero_shot_predict",
]


def class_embeddings(prompts: Tensor, owner: Tensor, num_classes: int | None = None) -> Tensor:
    """One embedding per class: the normalised mean of its normalised prompt embeddings.

    Args:
        prompts: (P, D) prompt embeddings.
        owner: (P,) int64 class of each prompt, in [0, num_classes).
        num_classes: default owner.max() + 1; every class needs at least one prompt.

    Returns:
        (C, D) L2-normalised class embeddings.

    Raises:
        ValueError: mismatched shapes or a class without a prompt.
    """
    if prompts.ndim != 2 or owner.shape != (prompts.shape[0],):
        raise ValueError(
            f"prompts must be (P, D) and owner (P,), got {tuple(prompts.shape)} and "
            f"{tuple(owner.shape)}"
        )
    c = int(owner.max()) + 1 if num_classes is None else num_classes
    counts = torch.bincount(owner, minlength=c)
    if len(counts) > c or (counts == 0).any():
        raise ValueError(f"every class in [0, {c}) needs at least one prompt, got counts {counts}")
    sums = torch.zeros(c, prompts.shape[1]).index_add_(
        0, owner, F.normalize(prompts.float(), dim=1)
    )
    return F.normalize(sums, dim=1)


def zero_shot_predict(images: Tensor, classes: Tensor) -> Tensor:
    """(N,) int64: for each image embedding (N, D), the class (C, D) of highest cosine."""
    if images.ndim != 2 or classes.ndim != 2 or images.shape[1] != classes.shape[1]:
        raise ValueError(
            f"images (N, D) and classes (C, D) must share D, got {tuple(images.shape)} and "
            f"{tuple(classes.shape)}"
        )
    sims = F.normalize(images.float(), dim=1) @ F.normalize(classes.float(), dim=1).T
    return sims.argmax(dim=1)


def zero_shot_accuracy(images: Tensor, classes: Tensor, labels: Tensor) -> float:
    """Fraction of images (N, D) whose nearest class embedding (C, D) is their label (N,)."""
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must be ({images.shape[0]},), got {tuple(labels.shape)}")
    return float((zero_shot_predict(images, classes) == labels).float().mean())


def zero_shot_balanced_accuracy(images: Tensor, classes: Tensor, labels: Tensor) -> float:
    """Mean over the classes present in `labels` of the share of their images predicted
    right (chance: 1 / C, whatever the class balance)."""
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must be ({images.shape[0]},), got {tuple(labels.shape)}")
    hit = (zero_shot_predict(images, classes) == labels).float()
    present = labels.unique()
    return float(torch.stack([hit[labels == c].mean() for c in present]).mean())


def cross_modal_recall(
    images: Tensor, texts: Tensor, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Recall@k of image->text and text->image retrieval, row i of each the matching pair.

    Args:
        images: (N, D) image embeddings.
        texts: (N, D) text embeddings; text i describes image i and is the one relevant
            answer (ties in similarity rank the lower index first).
        ks: cut-offs.

    Returns:
        {"image_to_text/recall@k": ..., "text_to_image/recall@k": ...} in [0, 1]; chance
        is k / N.
    """
    if images.shape != texts.shape or images.ndim != 2:
        raise ValueError(
            f"images and texts must both be (N, D), got {tuple(images.shape)} and "
            f"{tuple(texts.shape)}"
        )
    target = torch.arange(images.shape[0])
    out = {}
    for direction, (q, c) in {
        "image_to_text": (images, texts),
        "text_to_image": (texts, images),
    }.items():
        scores = retrieval_metrics(q, c, target, ks=ks, cutoff=max(ks))
        out.update({f"{direction}/recall@{k}": scores[f"recall@{k}"] for k in ks})
    return out


@torch.no_grad()
def embed_image_text(
    model: torch.nn.Module,
    images: Tensor,
    texts: Sequence[str],
    tokenize: Callable[[Sequence[str]], Mapping[str, Tensor]],
    *,
    prepare: Callable[[Tensor], Tensor],
    batch_size: int = 256,
) -> tuple[Tensor, Tensor]:
    """Shared-space embeddings of images and texts, in eval mode.

    Args:
        model: has `embed_image(x) -> (B, D)` and `embed_text(tokens) -> (B, D)` (CLIP).
        images: (N, C, H, W) stored images; `prepare` turns a batch into the model input.
        texts: M strings, tokenised by `tokenize`.

    Returns:
        (N, D) and (M, D) float32 embeddings.
    """
    was_training = model.training
    model.eval()
    device = module_device(model)
    try:
        img = [
            model.embed_image(prepare(to_device(x, device))).cpu() for x in images.split(batch_size)
        ]
        txt = []
        for start in range(0, len(texts), batch_size):
            tokens = tokenize(list(texts[start : start + batch_size]))
            txt.append(model.embed_text(to_device(dict(tokens), device)).cpu())
    finally:
        model.train(was_training)
    dim = model.embed_dim if hasattr(model, "embed_dim") else 0
    return (
        torch.cat(img) if img else torch.empty(0, dim),
        torch.cat(txt) if txt else torch.empty(0, dim),
    )


def clip_scores(
    model: torch.nn.Module,
    test: ImageTextData,
    tokenize: Callable[[Sequence[str]], Mapping[str, Tensor]],
    *,
    prepare: Callable[[Tensor], Tensor],
    prompts: tuple[list[str], Tensor] | None = None,
) -> dict[str, float]:
    """Held-out scores of a two-tower image-text model: image<->text recall@1/5/10 and, with
    `prompts` (texts and their class) and test labels, zero-shot accuracy and balanced
    accuracy."""
    img, txt = embed_image_text(model, test.images, test.captions, tokenize, prepare=prepare)
    out = cross_modal_recall(img, txt)
    if prompts is not None and test.labels is not None:
        texts, owner = prompts
        _, p = embed_image_text(model, test.images[:0], texts, tokenize, prepare=prepare)
        classes = class_embeddings(p, owner, len(test.classes or []) or None)
        out["zero_shot_accuracy"] = zero_shot_accuracy(img, classes, test.labels)
        out["zero_shot_balanced_accuracy"] = zero_shot_balanced_accuracy(img, classes, test.labels)
    return out


def chance_scores(test: ImageTextData) -> dict[str, float]:
    """What guessing scores: recall@k = k / N; for zero-shot accuracy the majority class's
    share, for balanced accuracy 1 / C."""
    n = len(test)
    out = {f"{d}/recall@{k}": min(k, n) / n for d in ("image_to_text", "text_to_image")
           for k in (1, 5, 10)}  # fmt: skip
    if test.labels is not None:
        out["zero_shot_accuracy"] = float(torch.bincount(test.labels).max()) / n
        out["zero_shot_balanced_accuracy"] = 1.0 / len(test.labels.unique())
    return out
