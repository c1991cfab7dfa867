"""Semi-supervised evaluation on real data (scikit-learn digits) with a small MLP."""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from contrastkit.evaluate.linear import linear_probe
from contrastkit.evaluate.semi_supervised import (
    classifier_accuracy,
    embed_tensors,
    fine_tune,
    fine_tune_on_validation,
    label_subset,
    probe_on_validation,
    semi_supervised_eval,
)


class MLP(nn.Module):
    output_dim = 32

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _digits() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32) / 16
    y = torch.tensor(y)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, test = order[:1200], order[1200:]
    return (x[train], y[train]), (x[test], y[test])


def test_label_subset_is_stratified_with_one_item_per_class_at_least() -> None:
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 3)
    keep = label_subset(labels, 0.1, seed=1)
    counts = torch.bincount(labels[keep], minlength=3).tolist()
    assert counts == [5, 3, 1]
    assert torch.equal(keep, keep.unique())  # sorted, no repeats
    assert torch.equal(label_subset(labels, 0.1, seed=1), keep)
    assert not torch.equal(label_subset(labels, 0.1, seed=2), keep)


def test_fine_tuning_learns_digits_from_a_tenth_of_the_labels() -> None:
    (x, y), (tx, ty) = _digits()
    keep = label_subset(y, 0.1)
    torch.manual_seed(0)
    model = fine_tune(MLP(), x[keep], y[keep], 10, steps=200, lr=3e-3)
    accuracy = (embed_tensors(model, tx).argmax(1) == ty).float().mean().item()
    assert accuracy > 0.8  # chance is 0.1


def test_a_good_encoder_beats_scratch_with_one_percent_of_labels() -> None:
    """An encoder pre-trained (here: supervised on all train labels) must help when only
    1% of the labels are given; the scratch row is the same MLP trained on those alone."""
    (x, y), test = _digits()
    torch.manual_seed(0)
    pretrained = fine_tune(MLP(), x, y, 10, steps=300, lr=3e-3)[0]
    before = [p.clone() for p in pretrained.parameters()]
    rows = semi_supervised_eval(pretrained, MLP, (x, y), test, fractions=(0.01,), steps=100,
                                lr=3e-3)  # fmt: skip
    acc = {r["protocol"]: r["accuracy"] for r in rows}
    assert set(acc) == {"linear probe", "fine-tune", "scratch"}
    assert {r["labels"] for r in rows} == {10}  # 1% of about 120 per class: one each
    assert acc["linear probe"] > acc["scratch"] + 0.1
    assert acc["fine-tune"] > acc["scratch"] + 0.1
    for p, q in zip(pretrained.parameters(), before, strict=True):
        assert torch.equal(p, q)  # the pre-trained encoder is copied, never changed


def test_fine_tune_on_validation_keeps_the_best_validation_weights() -> None:
    """A learning rate that cannot learn is never chosen; the returned weights are the ones
    that scored `val_accuracy` (not the last ones); the encoder passed in is not changed."""
    (x, y), (tx, ty) = _digits()
    val = (tx[:200], ty[:200])
    keep = label_subset(y, 0.1)
    encoder = MLP()
    before = [p.clone() for p in encoder.parameters()]
    pick = fine_tune_on_validation(encoder, (x[keep], y[keep]), val, 10, steps=60,
                                   lrs=(1e-9, 3e-3), checks=3)  # fmt: skip
    assert pick.lr == 3e-3 and pick.step in (20, 40, 60)
    assert pick.val_accuracy > 0.5  # chance is 0.1; the 1e-9 runs stay near it
    assert classifier_accuracy(pick.model, *val) == pytest.approx(pick.val_accuracy)
    for p, q in zip(encoder.parameters(), before, strict=True):
        assert torch.equal(p, q)


def test_probe_on_validation_scores_the_test_split_with_the_chosen_strength() -> None:
    (x, y), (tx, ty) = _digits()
    train, val, test = (x[:300], y[:300]), (tx[:200], ty[:200]), (tx[200:], ty[200:])
    accuracy, c = probe_on_validation(train, val, test, 10, cs=(0.01, 1.0, 100.0))
    assert c in (0.01, 1.0, 100.0)
    expected = linear_probe(*train, *test, num_classes=10, weight_decay=1 / (c * 300))
    assert accuracy == expected.accuracy
    only, one = probe_on_validation(train, val, test, 10, cs=(1.0,))
    assert one == 1.0 and only == linear_probe(*train, *test, num_classes=10).accuracy  # C=1
