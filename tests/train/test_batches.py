"""Batch sources: duplicate-free orders, text batches per column, SimCSE copies."""

from __future__ import annotations

import torch

from contrastkit.data.text import TextData
from contrastkit.train.batches import TextBatches, no_duplicate_order
from contrastkit.views.text import TextViews


def _fake_tokenize(texts):
    """Word count and first letter code per text: enough to check which texts arrived."""
    lengths = [len(t.split()) for t in texts]
    width = max(lengths)
    ids = torch.zeros(len(texts), width, dtype=torch.int64)
    for i, t in enumerate(texts):
        ids[i, : lengths[i]] = ord(t[0])
    mask = (ids > 0).long()
    return {"input_ids": ids, "attention_mask": mask}


def test_no_duplicate_order_is_a_permutation_with_clean_batches():
    texts = [f"t{i % 37}" for i in range(300)]  # every text about 8 times
    keys = [(t,) for t in texts]
    order = no_duplicate_order(keys, batch_size=16, seed=5)
    assert sorted(order.tolist()) == list(range(300))
    full = len(order) // 16
    for b in range(full - 1):  # the last full batch may take clashing leftovers
        batch = order[b * 16 : (b + 1) * 16].tolist()
        assert len({texts[i] for i in batch}) == 16
    assert torch.equal(order, no_duplicate_order(keys, 16, seed=5))
    assert not torch.equal(order, no_duplicate_order(keys, 16, seed=6))


def test_no_duplicate_order_checks_every_column():
    keys = [("a", "x"), ("b", "x"), ("c", "y"), ("d", "z")]
    order = no_duplicate_order(keys, batch_size=2, seed=0).tolist()
    first, second = {order[0], order[1]}, {order[2], order[3]}
    assert not {0, 1} <= first and not {0, 1} <= second


def test_pairs_become_one_view_per_column():
    data = TextData(["aa bb", "cc", "dd ee ff"], ["pp", "qq rr", "ss"], label=["x", "y", "x"])
    source = TextBatches(data, _fake_tokenize)
    batch = source.batch(torch.tensor([2, 0]), torch.Generator().manual_seed(0))
    assert len(batch.views) == 2
    assert batch.views[0]["input_ids"][:, 0].tolist() == [ord("d"), ord("a")]
    assert batch.views[1]["input_ids"][:, 0].tolist() == [ord("s"), ord("p")]
    assert batch.labels.tolist() == [0, 0]


def test_single_texts_give_simcse_copies_or_edited_views():
    data = TextData(["one two three four", "five six seven eight"])
    copies = TextBatches(data, _fake_tokenize).batch(torch.tensor([0, 1]), torch.Generator())
    assert len(copies.views) == 2 and copies.views[0] is copies.views[1]
    edited = TextBatches(data, _fake_tokenize, views=TextViews.eda(p_delete=0.5)).batch(
        torch.tensor([0, 1]), torch.Generator().manual_seed(0)
    )
    assert edited.views[0]["attention_mask"].sum() < 8  # words were deleted
