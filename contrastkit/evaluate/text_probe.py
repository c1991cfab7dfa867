"""Linear-probe classification of texts: frozen sentence embeddings, a softmax classifier."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from contrastkit.evaluate.linear import ClassificationReport, linear_probe

__all__ = ["text_linear_probe"]


def text_linear_probe(
    encode: Callable[[Sequence[str]], Tensor],
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
) -> ClassificationReport:
    """Accuracy and macro P/R/F1 of a linear classifier on frozen text embeddings.

    Args:
        encode: texts -> (N, D) embeddings, e.g. `TextEncoder.encode`.
        train_texts, train_labels: labelled texts to fit on (labels: any strings).
        test_texts, test_labels: held-out texts to score; a label unseen in training counts
            as an error.

    Returns:
        The `linear_probe` report (accuracy, macro precision / recall / F1, confusion).
    """
    if len(train_texts) != len(train_labels) or len(test_texts) != len(test_labels):
        raise ValueError("every text needs one label (train and test lengths must match)")
    names = {n: i for i, n in enumerate(sorted(set(train_labels) | set(test_labels)))}
    y_train = torch.tensor([names[x] for x in train_labels])
    y_test = torch.tensor([names[x] for x in test_labels])
    return linear_probe(
        encode(train_texts), y_train, encode(test_texts), y_test, num_classes=len(names)
    )
