"""WordNet parsed from the Debian package's data files: counts, glosses, synonyms."""

from __future__ import annotations

import pytest

from contrastkit.data.wordnet import load_wordnet, synonym_table
from contrastkit.errors import DatasetNotFoundError


@pytest.fixture(scope="module")
def synsets():
    return load_wordnet()


def test_counts_match_wordnet_3_0(synsets):
    assert len(synsets) == 117_659
    assert sum(len(s.examples) for s in synsets) == 48_339
    assert len({s.lexfile for s in synsets}) == 45


def test_a_verb_synset_is_parsed_whole(synsets):
    breathe = next(s for s in synsets if s.pos == "v" and s.words[0] == "breathe")
    assert breathe.words == ("breathe", "take a breath", "respire", "suspire")
    assert breathe.definition == "draw air into, and expel out of, the lungs"
    assert breathe.examples[0] == "I can breathe better when the air is clean"
    assert ("@", 4227, "v") not in breathe.pointers and ("*", 5041, "v") in breathe.pointers


def test_synonyms_are_single_words_from_shared_synsets(synsets):
    table = synonym_table(synsets)
    assert "automobile" in table["car"] and "car" not in table["car"]
    assert all(" " not in w for w in table["car"])


def test_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="apt-get install wordnet-base"):
        load_wordnet(tmp_path)


def test_gloss_example_pairs_mask_the_word_and_its_inflections(synsets):
    from contrastkit.data.wordnet import gloss_example_pairs

    pairs = gloss_example_pairs(synsets)
    assert 30_000 < len(pairs) < 48_339
    i = pairs.positive.index("draw air into, and expel out of, the lungs")
    assert pairs.anchor[i] == "I can ___ better when the air is clean"
    breathe = next(s for s in synsets if s.pos == "v" and s.words[0] == "breathe")
    only_second = gloss_example_pairs(
        [breathe.__class__(**{**breathe.__dict__, "examples": breathe.examples[1:]})]
    )
    assert only_second.anchor == ["The patient is ___"]  # "respiring" from "respire"
    assert all("___" in a for a in pairs.anchor[:1000])
