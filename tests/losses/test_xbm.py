"""Cross-batch memory: the ring buffer (order, wrap, warm-up, state dict) and the pair and
triplet losses with memory references against slow loops over anchors in the batch."""

from __future__ import annotations

import pytest
import torch

from contrastkit.losses.metric import contrastive_loss, triplet_loss
from contrastkit.nn.xbm import CrossBatchMemory


def _d(a, b):
    return 1 - a @ b / (a.norm() * b.norm())


def test_memory_keeps_the_last_rows_with_their_labels_and_waits_for_start():
    xbm = CrossBatchMemory(size=5, dim=2, start_step=2)
    assert xbm.references() is None
    xbm.push(torch.ones(3, 2), torch.tensor([1, 2, 3]))
    assert xbm.references() is None  # one update < start_step
    xbm.push(2 * torch.ones(3, 2), torch.tensor([4, 5, 6]))
    rows, labels = xbm.references()
    assert labels.tolist() == [6, 2, 3, 4, 5]  # the 6th row overwrote the oldest
    assert rows[:, 0].tolist() == [2, 1, 1, 2, 2]
    other = CrossBatchMemory(size=5, dim=2, start_step=2)
    other.load_state_dict(xbm.state_dict())
    got = other.references()
    assert torch.equal(got[0], rows) and torch.equal(got[1], labels)
    with pytest.raises(ValueError, match="labels"):
        xbm.push(torch.ones(2, 2), torch.tensor([1]))


def reference_batch_hard(x, labels, memory, memory_labels, margin):
    refs = torch.cat([x, memory])
    ref_labels = labels.tolist() + memory_labels.tolist()
    terms = []
    for i in range(x.shape[0]):
        pos = [
            _d(x[i], refs[j]) for j in range(len(refs)) if j != i and ref_labels[j] == ref_labels[i]
        ]
        neg = [_d(x[i], refs[j]) for j in range(len(refs)) if ref_labels[j] != ref_labels[i]]
        if pos and neg:
            terms.append(torch.relu(max(pos) - min(neg) + margin))
    return sum(terms) / len(terms)


def reference_all_pairs(x, labels, memory, memory_labels, margin):
    refs = torch.cat([x, memory])
    ref_labels = labels.tolist() + memory_labels.tolist()
    pos, neg = [], []
    for i in range(x.shape[0]):
        for j in range(i + 1, len(refs)):
            d = _d(x[i], refs[j])
            if ref_labels[i] == ref_labels[j]:
                pos.append(d**2)
            else:
                neg.append(torch.relu(margin - d) ** 2)
    return sum(pos) / len(pos) + sum(neg) / len(neg)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("loss", ["triplet", "contrastive"])
def test_losses_with_memory_match_loops_over_batch_anchors(seed, loss):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 4, generator=g, requires_grad=True)
    labels = torch.randint(0, 3, (6,), generator=g)
    memory = torch.randn(9, 4, generator=g)
    memory_labels = torch.randint(0, 3, (9,), generator=g)
    if loss == "triplet":
        got = triplet_loss(
            x, labels, 0.2, "cosine", "batch_hard", memory=memory, memory_labels=memory_labels
        )
        ref = reference_batch_hard
    else:
        got = contrastive_loss(
            x, labels, 0.5, "cosine", "all", memory=memory, memory_labels=memory_labels
        )
        ref = reference_all_pairs
    (grad_got,) = torch.autograd.grad(got, x)
    x64 = x.detach().double().requires_grad_()
    want = ref(x64, labels, memory.double(), memory_labels, 0.2 if loss == "triplet" else 0.5)
    (grad_want,) = torch.autograd.grad(want, x64)
    assert got.item() == pytest.approx(want.item(), rel=1e-5, abs=1e-7)
    torch.testing.assert_close(grad_got, grad_want.float(), rtol=1e-4, atol=1e-6)
