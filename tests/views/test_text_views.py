"""Text views: each edit does what it says, views differ per draw, a seed repeats them."""

from __future__ import annotations

import random

import pytest
import torch

from contrastkit.views.text import (
    TextViews,
    crop_span,
    delete_words,
    replace_synonyms,
    swap_words,
)

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "today"]
TEXTS = [" ".join(WORDS), "a happy car drives fast", "single"]


def test_delete_words_keeps_order_and_at_least_one():
    out = delete_words(WORDS, random.Random(0), p=0.5)
    assert 1 <= len(out) < len(WORDS)
    it = iter(WORDS)
    assert all(w in it for w in out)  # a subsequence
    assert len(delete_words(["x", "y"], random.Random(1), p=0.999)) == 1
    assert delete_words([], random.Random(0)) == []


def test_crop_span_is_contiguous_with_the_fraction_asked():
    rng = random.Random(3)
    for _ in range(50):
        out = crop_span(WORDS, rng, 0.3, 0.6)
        assert 3 <= len(out) <= 6
        start = WORDS.index(out[0]) if out[0] != "the" else None
        if start is not None:
            assert WORDS[start : start + len(out)] == out


def test_swap_words_is_a_permutation():
    out = swap_words(WORDS, random.Random(0), n_swaps=2)
    assert sorted(out) == sorted(WORDS) and out != WORDS
    assert swap_words(["one"], random.Random(0)) == ["one"]


def test_replace_synonyms_keeps_case_and_punctuation():
    table = {"happy": ("glad",), "car": ("auto",)}
    out = replace_synonyms(["Happy", "car,", "drives"], random.Random(0), table, p=0.999)
    assert out == ["Glad", "auto,", "drives"]
    assert replace_synonyms(["Happy"], random.Random(0), table, p=0.0) == ["Happy"]


def test_views_seeded_reproducible_and_different_per_view():
    views = TextViews.eda(p_delete=0.2, crop=(0.5, 1.0), n_swaps=1, n_views=3)
    a = views(TEXTS, torch.Generator().manual_seed(7))
    b = views(TEXTS, torch.Generator().manual_seed(7))
    c = views(TEXTS, torch.Generator().manual_seed(8))
    assert a == b and a != c
    assert len(a) == 3 and all(len(v) == len(TEXTS) for v in a)
    assert a[0][0] != a[1][0]  # views of one text differ
    assert all(v[2] == "single" for v in a)  # one word survives every edit


def test_simcse_views_are_the_text_itself():
    a, b = TextViews.simcse()(TEXTS, torch.Generator().manual_seed(0))
    assert a == b == TEXTS


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="p_delete"):
        TextViews.eda(p_delete=1.5)
    with pytest.raises(ValueError, match="crop"):
        TextViews.eda(crop=(0.8, 0.2))
    with pytest.raises(ValueError, match="n_views"):
        TextViews(n_views=0)
