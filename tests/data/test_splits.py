"""Held-out splits of image data: the monitor hold-out is a capped share of the training
items, none for small sets."""

from __future__ import annotations

import re

import pytest
import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.splits import (
    group_keys,
    grouped_held_out,
    held_out,
    monitor_holdout,
    split_images,
)
from contrastkit.errors import ContrastkitError


def _labelled(n: int) -> ImageDataset:
    images = torch.zeros(n, 1, 4, 4, dtype=torch.uint8)
    return ImageDataset(images, torch.arange(n) % 10, [str(i) for i in range(n)])


def test_the_holdout_is_ten_percent_capped_at_1000_and_none_below_500() -> None:
    assert [monitor_holdout(n) for n in (499, 500, 4000, 10000, 60000)] == [0, 50, 400, 1000, 1000]


def test_default_holdout_follows_the_rule_after_the_test_split() -> None:
    s = split_images(_labelled(5000), None, test_size=0.2, holdout=None)
    assert len(s.test) == 1000 and len(s.queries) == 400 and len(s.train) == 3600
    assert len(s.pool) == 4000  # the evaluation bank keeps the queries
    small = split_images(_labelled(400), None, test_size=0.2, holdout=None)
    assert small.queries is None and len(small.train) == 320
    given = split_images(_labelled(5000), None, test_size=0.2, holdout=1000)
    assert len(given.queries) == 1000  # an explicit count is kept


def _font_ids(fonts: int, letters: str = "abcdef") -> list[str]:
    return [
        f"{c}/{f * 26 + i:05d}-font{f}-{c}.png" for f in range(fonts) for i, c in enumerate(letters)
    ]


def test_grouped_hold_out_keeps_every_group_on_one_side() -> None:
    ids = _font_ids(40)
    held, kept = grouped_held_out(ids, 0.2, torch.Generator().manual_seed(0), r"\d+-(\w+)-")
    assert len(held) + len(kept) == len(ids)
    assert set(held.tolist()).isdisjoint(kept.tolist())
    keys = group_keys(ids, r"\d+-(\w+)-")
    held_fonts = {keys[i] for i in held.tolist()}
    kept_fonts = {keys[i] for i in kept.tolist()}
    assert held_fonts.isdisjoint(kept_fonts) and len(held_fonts | kept_fonts) == 40
    assert len(held_fonts) == 8  # 20% of 240 letters = 48 = 8 whole fonts of 6
    # seeded and different per seed
    again, _ = grouped_held_out(ids, 0.2, torch.Generator().manual_seed(0), r"\d+-(\w+)-")
    other, _ = grouped_held_out(ids, 0.2, torch.Generator().manual_seed(1), r"\d+-(\w+)-")
    assert torch.equal(again, held) and not torch.equal(other, held)


def test_an_ungrouped_hold_out_splits_fonts_which_the_grouped_one_does_not() -> None:
    ids = _font_ids(40)
    keys = group_keys(ids, r"\d+-(\w+)-")
    held, kept = held_out(len(ids), 0.2, torch.Generator().manual_seed(0))
    assert {keys[i] for i in held.tolist()} & {keys[i] for i in kept.tolist()}  # the leak


def test_group_keys_use_the_whole_match_without_a_capture_group() -> None:
    assert group_keys(["x/ab-1.png", "y/cd-2.png"], r"[a-z]+-") == ["ab-", "cd-"]


@pytest.mark.parametrize(
    ("ids", "pattern", "message"),
    [
        (["a/00000-f0-a.png", "b/odd.png"], r"\d+-(\w+)-", "does not match item 'b/odd.png'"),
        (["a/00000-f0-a.png", "b/00001-f0-b.png"], r"\d+-(\w+)-", "one group ('f0')"),
        (["a.png", "b.png"], r"(", "not a regular expression"),
    ],
)
def test_bad_group_patterns_are_named(ids, pattern, message) -> None:
    with pytest.raises(ContrastkitError, match=re.escape(message)):
        grouped_held_out(ids, 0.5, torch.Generator().manual_seed(0), pattern)


def _fonts(count: int) -> ImageDataset:
    ids = _font_ids(count)
    labels = torch.tensor([ord(i[0]) - ord("a") for i in ids])
    return ImageDataset(torch.zeros(len(ids), 1, 4, 4, dtype=torch.uint8), labels, ids)


def test_data_group_makes_the_test_and_monitor_hold_outs_take_whole_fonts() -> None:
    pattern = r"\d+-(\w+)-"
    s = split_images(_fonts(500), None, test_size=0.2, holdout=300, group=pattern)
    fonts = {name: set(group_keys(d.ids, pattern)) for name, d in
             (("test", s.test), ("queries", s.queries), ("train", s.train))}  # fmt: skip
    assert fonts["test"].isdisjoint(fonts["train"] | fonts["queries"])
    assert fonts["queries"].isdisjoint(fonts["train"])
    assert len(fonts["test"]) == 100 and len(fonts["queries"]) == 50  # 600 and 300 of 6 each
    assert len(s.pool) == len(s.train) + len(s.queries) == 2400
    loose = split_images(_fonts(500), None, test_size=0.2, holdout=300)  # per image: fonts leak
    assert set(group_keys(loose.test.ids, pattern)) & set(group_keys(loose.train.ids, pattern))


def test_without_a_group_the_hold_outs_are_the_seeded_permutations_they_always_were() -> None:
    data = _labelled(3000)
    s = split_images(data, None, test_size=0.2, holdout=240, seed=3)
    g = torch.Generator().manual_seed(3)
    order = torch.randperm(3000, generator=g)
    test, rest = order[:600], order[600:]
    queries = torch.randperm(2400, generator=g)[:240]
    assert s.test.ids == [data.ids[i] for i in test.tolist()]
    assert s.queries.ids == [data.ids[i] for i in rest[queries].tolist()]


def test_a_group_pattern_that_misses_an_image_stops_the_split_by_name() -> None:
    data = _fonts(20)
    data.ids[7] = "c/stray.png"
    with pytest.raises(ContrastkitError, match=re.escape("does not match item 'c/stray.png'")):
        split_images(data, None, group=r"\d+-(\w+)-")
