"""Zero-shot classification and image<->text recall@k on hand-built embeddings."""

from __future__ import annotations

import pytest
import torch

from contrastkit.evaluate.zero_shot import (
    class_embeddings,
    cross_modal_recall,
    zero_shot_accuracy,
    zero_shot_balanced_accuracy,
    zero_shot_predict,
)


def test_class_embeddings_average_normalised_prompts() -> None:
    prompts = torch.tensor([[2.0, 0.0], [0.0, 5.0], [0.0, -1.0]])
    owner = torch.tensor([0, 0, 1])
    classes = class_embeddings(prompts, owner)
    s = 2**-0.5
    torch.testing.assert_close(classes, torch.tensor([[s, s], [0.0, -1.0]]))


def test_class_without_prompt_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one prompt"):
        class_embeddings(torch.randn(2, 3), torch.tensor([0, 2]))


def test_zero_shot_prediction_and_accuracies() -> None:
    classes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    images = torch.tensor([[3.0, 1.0], [0.9, 0.1], [2.0, 1.0], [0.1, 1.0]])
    assert zero_shot_predict(images, classes).tolist() == [0, 0, 0, 1]
    labels = torch.tensor([0, 0, 0, 0])  # one image wrong
    assert zero_shot_accuracy(images, classes, labels) == pytest.approx(0.75)
    labels = torch.tensor([0, 0, 1, 1])  # class 0: 2/2, class 1: 1/2
    assert zero_shot_accuracy(images, classes, labels) == pytest.approx(0.75)
    assert zero_shot_balanced_accuracy(images, classes, labels) == pytest.approx(0.75)
    labels = torch.tensor([0, 0, 0, 1])
    assert zero_shot_balanced_accuracy(images, classes, labels) == pytest.approx(1.0)
    labels = torch.tensor([1, 0, 0, 0])  # class 0: 2/3, class 1: 0/1
    assert zero_shot_balanced_accuracy(images, classes, labels) == pytest.approx(1 / 3)


def test_cross_modal_recall_on_hand_built_pairs() -> None:
    # texts: unit vectors at these angles (radians); images 1 and 2 carry swapped texts
    angles = torch.tensor([0.0, 0.3, 1.0, 2.5])
    texts = torch.stack([angles.cos(), angles.sin()], dim=1)
    images = texts[[0, 2, 1, 3]]  # images 1 and 2 swapped
    scores = cross_modal_recall(images, texts, ks=(1, 2))
    assert scores["image_to_text/recall@1"] == pytest.approx(0.5)
    assert scores["text_to_image/recall@1"] == pytest.approx(0.5)
    # image 1 (at 1.0) ranks text 2, text 1: hit; image 2 (at 0.3) ranks text 1, text 0: miss
    assert scores["image_to_text/recall@2"] == pytest.approx(0.75)
    # text 1 (at 0.3) ranks images 2, 0: miss; text 2 (at 1.0) ranks images 1, 2: hit
    assert scores["text_to_image/recall@2"] == pytest.approx(0.75)
    perfect = cross_modal_recall(texts, texts, ks=(1,))
    assert perfect == {"image_to_text/recall@1": 1.0, "text_to_image/recall@1": 1.0}


def test_cross_modal_recall_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="both be"):
        cross_modal_recall(torch.randn(3, 2), torch.randn(4, 2))
