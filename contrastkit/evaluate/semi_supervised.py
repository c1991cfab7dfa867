"""Semi-supervised evaluation for any modality: with 1% or 10% of the labels, a linear probe
on frozen features and fine-tuning of the pre-trained encoder, against the same encoder
architecture trained from scratch on those labels only.

Inputs are tensors (images, table rows, audio clips, packed graphs); `prepare` turns a
batch of stored items into the encoder's input (e.g. uint8 pixels to floats) and
`augment` optionally makes a training view of it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.evaluate.linear import linear_probe
from contrastkit.nn.placement import module_device, to_device
from contrastkit.progress import bar

__all__ = [
    "Selected",
    "classifier_accuracy",
    "embed_tensors",
    "fine_tune",
    "fine_tune_on_validation",
    "label_subset",
    "probe_on_validation",
    "semi_supervised_eval",
]

Prepare = Callable[[Tensor], Tensor]
Augment = Callable[[Tensor, torch.Generator], Tensor]


def label_subset(labels: Tensor, fraction: float, seed: int = 0) -> Tensor:
    """Indices of a stratified `fraction` of the items, at least one per class.

    Args:
        labels: (N,) int64 classes.
        fraction: share of each class to keep, in (0, 1].

    Returns:
        (M,) int64 sorted indices.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    g = torch.Generator().manual_seed(seed)
    kept = []
    for c in labels.unique():
        members = torch.nonzero(labels == c).flatten()
        take = max(1, round(fraction * len(members)))
        kept.append(members[torch.randperm(len(members), generator=g)[:take]])
    return torch.cat(kept).sort().values


@torch.no_grad()
def embed_tensors(
    encoder: nn.Module, items: Tensor, *, prepare: Prepare | None = None, batch_size: int = 512
) -> Tensor:
    """(N, D) float32 encoder outputs for `items` (N, ...), in eval mode, batch by batch, on
    the CPU. `prepare` runs on the CPU (it may sample subgraphs there); each prepared batch
    is copied to the encoder's device."""
    was_training = encoder.training
    encoder.eval()
    device = module_device(encoder)
    out = []
    try:
        with bar(len(items), "embed", leave=False) as progress:  # as `progress_bars` says
            for chunk in items.split(batch_size):
                x = to_device(prepare(chunk) if prepare else chunk, device)
                out.append(encoder(x).float().flatten(1).cpu())
                progress.update(len(chunk))
    finally:
        encoder.train(was_training)
    return torch.cat(out)


def fine_tune(
    encoder: nn.Module,
    items: Tensor,
    labels: Tensor,
    num_classes: int,
    *,
    steps: int = 300,
    lr: float = 1e-3,
    batch_size: int = 128,
    prepare: Prepare | None = None,
    augment: Augment | None = None,
    seed: int = 0,
) -> nn.Module:
    """Train `encoder` plus a new linear layer with cross-entropy (AdamW, cosine schedule).

    Args:
        encoder: module mapping prepared (B, ...) inputs to (B, D) features, with `output_dim`
            or any output that flattens to D; trained in place.
        items: (N, ...) labelled items.
        labels: (N,) int64 classes in [0, num_classes).

    Returns:
        the classifier `nn.Sequential(encoder, Flatten, Linear)`, in eval mode.
    """
    model = _classifier(encoder, items, num_classes, prepare, seed)
    for _ in _train(model, items, labels, steps, lr, batch_size, prepare, augment, seed):
        pass
    return model.eval()


@dataclass
class Selected:
    """A fine-tuned classifier chosen on validation data.

    Attributes:
        model: `nn.Sequential(encoder, Flatten, Linear)` with the chosen weights, eval mode.
        lr: the learning rate of the chosen run.
        step: the step whose weights were kept.
        val_accuracy: its accuracy on the validation items, in [0, 1].
    """

    model: nn.Module
    lr: float
    step: int
    val_accuracy: float


def fine_tune_on_validation(
    encoder: nn.Module,
    train: tuple[Tensor, Tensor],
    validation: tuple[Tensor, Tensor],
    num_classes: int,
    *,
    steps: int = 300,
    lrs: Sequence[float] = (3e-3, 1e-3, 3e-4),
    checks: int = 5,
    batch_size: int = 128,
    prepare: Prepare | None = None,
    augment: Augment | None = None,
    seed: int = 0,
) -> Selected:
    """`fine_tune` a copy of `encoder` once per learning rate, scoring the validation items
    every `steps // checks` steps; keeps the weights with the best validation accuracy
    (the earliest on ties). The test split never enters the choice.

    Args:
        encoder: the starting encoder (copied for each run, never changed).
        train: (items (N, ...), labels (N,)) to train on.
        validation: (items (M, ...), labels (M,)) that choose the learning rate and step.
        lrs: the learning rates tried (AdamW, cosine schedule over `steps`).
        checks: validation points per run, >= 1 (the last one at `steps`).

    Returns:
        the `Selected` classifier.

    Example:
        >>> x, y = torch.randn(40, 8), torch.arange(40) % 2
        >>> pick = fine_tune_on_validation(nn.Linear(8, 4), (x, y), (x, y), 2, steps=4)
        >>> pick.lr in (3e-3, 1e-3, 3e-4) and 1 <= pick.step <= 4
        True
    """
    if not lrs or checks < 1:
        raise ValueError(f"lrs must be non-empty and checks >= 1, got {list(lrs)} and {checks}")
    (items, labels), (val_x, val_y) = train, validation
    every = max(1, steps // checks)
    best: Selected | None = None
    for lr in lrs:
        model = _classifier(copy.deepcopy(encoder), items, num_classes, prepare, seed)
        for step in _train(model, items, labels, steps, lr, batch_size, prepare, augment, seed):
            if step % every and step != steps:
                continue
            score = classifier_accuracy(model, val_x, val_y, prepare)
            if best is None or score > best.val_accuracy:
                best = Selected(copy.deepcopy(model).eval(), lr, step, score)
    assert best is not None
    return best


def probe_on_validation(
    train: tuple[Tensor, Tensor],
    validation: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    num_classes: int,
    *,
    cs: Sequence[float] = (0.1, 1.0, 10.0),
) -> tuple[float, float]:
    """A linear probe of frozen features whose L2 strength is chosen on validation features.

    Args:
        train, validation, test: (features (N, D), labels (N,)) each.
        cs: inverse strengths tried, as scikit-learn's `C`: weight decay 1 / (C * N).

    Returns:
        (test accuracy of the probe with the best validation accuracy, its C); the
        smallest C wins ties.
    """
    (x, y), (val_x, val_y) = train, validation
    scores = []
    with bar(len(cs), "probe C", unit="fit", leave=False) as progress:  # as `progress_bars` says
        for c in cs:
            scores.append(linear_probe(x, y, val_x, val_y, num_classes=num_classes,
                                       weight_decay=1.0 / (c * len(x))).accuracy)  # fmt: skip
            progress.update()
    c = cs[max(range(len(cs)), key=lambda i: (scores[i], -cs[i]))]
    report = linear_probe(x, y, *test, num_classes=num_classes, weight_decay=1.0 / (c * len(x)))
    return report.accuracy, c


def _classifier(
    encoder: nn.Module, items: Tensor, num_classes: int, prepare: Prepare | None, seed: int
) -> nn.Module:
    torch.manual_seed(seed)  # the new layer's initialisation
    dim = embed_tensors(encoder, items[:2], prepare=prepare).shape[1]
    head = nn.Linear(dim, num_classes).to(module_device(encoder))
    return nn.Sequential(encoder, nn.Flatten(1), head)


def _train(
    model: nn.Module,
    items: Tensor,
    labels: Tensor,
    steps: int,
    lr: float,
    batch_size: int,
    prepare: Prepare | None,
    augment: Augment | None,
    seed: int,
) -> Iterator[int]:
    """Cross-entropy steps on random batches; yields each step number once it is taken."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    device = module_device(model)
    size = min(batch_size, len(items))
    for step in range(1, steps + 1):
        idx = torch.randint(len(items), (size,), generator=g)
        x = prepare(items[idx]) if prepare else items[idx]
        if augment is not None:
            x = augment(x, g)
        loss = F.cross_entropy(model(to_device(x, device)), to_device(labels[idx], device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        yield step


def classifier_accuracy(
    model: nn.Module, items: Tensor, labels: Tensor, prepare: Prepare | None = None
) -> float:
    """Share of `items` (N, ...) whose argmax of `model`'s (N, C) logits is the label."""
    logits = embed_tensors(model, items, prepare=prepare)
    return float((logits.argmax(1) == labels).float().mean())


def semi_supervised_eval(
    pretrained: nn.Module,
    make_scratch: Callable[[], nn.Module],
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    *,
    fractions: Sequence[float] = (0.01, 0.1),
    steps: int = 300,
    lr: float = 1e-3,
    prepare: Prepare | None = None,
    augment: Augment | None = None,
    seed: int = 0,
) -> list[dict]:
    """Accuracy on `test` with a fraction of the `train` labels, three ways.

    Args:
        pretrained: the contrastive encoder (copied, never changed).
        make_scratch: returns a freshly initialised encoder of the same architecture.
        train: (items (N, ...), labels (N,)); test: the same for scoring.
        fractions: label shares to try.
        steps, lr: fine-tuning schedule, the same for pre-trained and scratch encoders.

    Returns:
        one dict per (fraction, protocol): fraction, labels (count), protocol
        ("linear probe" | "fine-tune" | "scratch"), accuracy in [0, 1].
    """
    (train_x, train_y), (test_x, test_y) = train, test
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    device = module_device(pretrained)  # the scratch encoders train there too
    frozen_train = embed_tensors(pretrained, train_x, prepare=prepare)
    frozen_test = embed_tensors(pretrained, test_x, prepare=prepare)
    rows = []
    for fraction in fractions:
        keep = label_subset(train_y, fraction, seed)
        x, y = train_x[keep], train_y[keep]
        probe = linear_probe(frozen_train[keep], y, frozen_test, test_y, num_classes=num_classes)
        settings = dict(steps=steps, lr=lr, prepare=prepare, augment=augment, seed=seed)
        tuned = fine_tune(copy.deepcopy(pretrained), x, y, num_classes, **settings)
        scratch = fine_tune(make_scratch().to(device), x, y, num_classes, **settings)
        for protocol, acc in (
            ("linear probe", probe.accuracy),
            ("fine-tune", classifier_accuracy(tuned, test_x, test_y, prepare)),
            ("scratch", classifier_accuracy(scratch, test_x, test_y, prepare)),
        ):
            rows.append({"fraction": fraction, "labels": len(keep), "protocol": protocol,
                         "accuracy": float(acc)})  # fmt: skip
    return rows
