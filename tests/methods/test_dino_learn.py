"""DINO with multi-crop learns on real Fashion-MNIST: the loss falls, the features do not
collapse, and kNN beats the same CNN with random weights.

The setting of test_methods_learn (6,000 training and 1,000 test images, the same small
CNN and global views, kNN k=20 against the random-init CNN) plus 2 local crops of 12x12.
"""

from __future__ import annotations

import pytest
import torch

from contrastkit.encoders import CompactCNN
from contrastkit.evaluate.geometry import effective_rank, normalized_std
from contrastkit.evaluate.knn import knn_accuracy
from contrastkit.methods import DINO
from contrastkit.train.trainer import Trainer
from contrastkit.views import ImageViews
from tests.methods.test_methods_learn import MIN_RANK, MIN_STD, WIDTHS, _features, data

pytestmark = pytest.mark.slow
__all__ = ["data"]  # the shared module fixture: the images and the random-init kNN

STEPS = 500
MARGIN = 0.02  # kNN points above the random-init CNN


def _multi_crop_views() -> ImageViews:
    return ImageViews.simclr(
        size=20, crop_scale=(0.3, 1.0), grayscale_p=0, blur_p=0, saturation=0, hue=0,
        local_views=2, local_size=12, local_crop_scale=(0.05, 0.4),
    )  # fmt: skip


def test_dino_with_multi_crop_learns_without_collapse(data):
    train, test, baseline = data
    views = _multi_crop_views()
    torch.manual_seed(0)
    method = DINO(CompactCNN(1, widths=WIDTHS), out_dim=1024, momentum=0.99,
                  teacher_temperature_warmup=0.3, proj_hidden_dim=256, proj_dim=64)  # fmt: skip
    trainer = Trainer(method, views, optimizer="sgd", lr=0.1, batch_size=128, steps=STEPS,
                      warmup=0.05, channels_last=True, progress=False, log_every=10)  # fmt: skip
    result = trainer.fit(train)

    losses = [row["loss"] for row in result.history if "loss" in row]
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert result.collapsed_at_step is None
    f_train = _features(method.encoder, views, train.images)
    f_test = _features(method.encoder, views, test.images)
    std, rank = normalized_std(f_test), effective_rank(f_test)
    trained = knn_accuracy(f_train, train.labels, f_test, test.labels, k=20)
    print(f"dino multi-crop: loss {first:.3f} -> {last:.3f}, kNN {trained:.3f} vs random-init "
          f"{baseline:.3f}, std {std:.2f}, rank {rank:.1f}")  # fmt: skip
    assert last < first, f"loss did not fall ({first:.3f} -> {last:.3f})"
    assert std > MIN_STD, f"collapsed, std {std:.3f}"
    assert rank > MIN_RANK, f"collapsed, effective rank {rank:.1f}"
    assert trained > baseline + MARGIN, f"kNN {trained:.3f} vs random {baseline:.3f}"
