"""Emoji-test parser, rendering, caption CSV reader, family split, views and pair batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.data.emoji import (
    EMOJI_FONT,
    group_prompts,
    load_emoji,
    parse_emoji_test,
    render_emoji,
)
from contrastkit.data.image_text import ImageTextData, load_caption_csv, split_by_family
from contrastkit.errors import DataFormatError, DatasetNotFoundError
from contrastkit.modalities.image_config import build_image_views
from contrastkit.pipeline.settings import load_config
from contrastkit.train.pair_batches import PairBatches

EXCERPT = """\
# emoji-test.txt excerpt
# group: Smileys & Emotion

# subgroup: face-smiling
1F600 ; fully-qualified # 😀 E1.0 grinning face
263A FE0F ; fully-qualified # ☺️ E0.6 smiling face
263A ; unqualified # ☺ E0.6 smiling face

# group: People & Body

# subgroup: hand-fingers-open
1F44B ; fully-qualified # 👋 E0.6 waving hand
1F44B 1F3FB ; fully-qualified # 👋🏻 E1.0 waving hand: light skin tone

# group: Flags

# subgroup: country-flag
1F1FF 1F1E6 ; fully-qualified # 🇿🇦 E2.0 flag: South Africa
"""


@pytest.fixture
def excerpt(tmp_path: Path) -> Path:
    path = tmp_path / "emoji-test.txt"
    path.write_text(EXCERPT, encoding="utf-8")
    return path


def test_parser_reads_fully_qualified_entries_with_group_subgroup_and_name(excerpt: Path) -> None:
    entries = parse_emoji_test(excerpt)
    assert [e.name for e in entries] == [
        "grinning face",
        "smiling face",
        "waving hand",
        "waving hand: light skin tone",
        "flag: South Africa",
    ]
    assert entries[1].codepoints == (0x263A, 0xFE0F) and entries[1].line == 6
    assert (entries[3].group, entries[3].subgroup) == ("People & Body", "hand-fingers-open")
    assert entries[2].base == entries[3].base  # skin tones share a base
    assert entries[4].base != entries[3].base
    assert [e.name for e in parse_emoji_test(excerpt, status="unqualified")] == ["smiling face"]


def test_parser_rejects_malformed_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(EXCERPT.replace("1F600 ;", "1F6ZZ ;"), encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad\.txt: line 5: expected 'code points"):
        parse_emoji_test(bad)
    headless = tmp_path / "headless.txt"
    headless.write_text(EXCERPT.split("\n", 4)[-1], encoding="utf-8")
    with pytest.raises(DataFormatError, match="before any '# group:'"):
        parse_emoji_test(headless)
    with pytest.raises(DatasetNotFoundError, match="unicode-data"):
        parse_emoji_test(tmp_path / "missing.txt")


def test_render_and_load_from_an_excerpt(excerpt: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONTRASTKIT_CACHE", str(tmp_path / "cache"))
    images = render_emoji(parse_emoji_test(excerpt)[:2], size=16, font=EMOJI_FONT)
    assert images.shape == (2, 3, 16, 16) and images.dtype == torch.uint8
    assert images[0].float().std() > 20  # a drawn glyph, not a blank canvas
    data = load_emoji(16, test_file=excerpt)
    assert len(list((tmp_path / "cache").glob("emoji-16px-*.npy"))) == 1
    torch.testing.assert_close(load_emoji(16, test_file=excerpt).images, data.images)
    assert data.classes == ["Smileys & Emotion", "People & Body", "Flags"]
    assert data.labels.tolist() == [0, 0, 1, 1, 2]
    assert data.family.tolist() == [0, 1, 2, 2, 3]
    assert data.captions[3] == "waving hand: light skin tone (hand fingers open)"
    prompts, owner = group_prompts(data)
    assert prompts[:3] == [
        "an emoji of smileys and emotion",
        "an emoji of people and body",
        "an emoji of flags",
    ]
    assert "an emoji of country flag" in prompts and owner.tolist()[-1] == 2


def test_real_emoji_dataset_and_family_split() -> None:
    data = load_emoji(24)
    assert data.images.shape[1:] == (3, 24, 24) and len(data) > 3600
    assert len(data.classes) == 9
    train, test = split_by_family(data, 0.2, seed=0)
    assert len(train) + len(test) == len(data)
    assert not set(train.family.tolist()) & set(test.family.tolist())
    assert not set(train.captions) & set(test.captions)


def _variant_key(codepoints: tuple[int, ...]) -> tuple[int, ...]:
    """Written out here, apart from the library: drop skin tones (U+1F3FB..U+1F3FF), the
    variation selector and ZWJ + gender sign; man / woman / person are one person."""
    text = "".join(chr(c) for c in codepoints if not 0x1F3FB <= c <= 0x1F3FF and c != 0xFE0F)
    text = text.replace("\u200d\u2640", "").replace("\u200d\u2642", "")
    person = {0x1F468: 0x1F9D1, 0x1F469: 0x1F9D1}
    return tuple(person.get(ord(c), ord(c)) for c in text)


VARIANTS = [  # gender and skin-tone variants by name, one base emoji per line
    ["person running", "man running", "woman running: dark skin tone"],
    ["technologist", "man technologist", "woman technologist: medium skin tone"],
    ["person", "man", "woman", "woman: light skin tone"],
    ["person: beard", "man: beard", "woman: light skin tone, beard"],
    ["man dancing", "woman dancing", "woman dancing: medium-dark skin tone"],
    ["prince", "princess", "person with crown"],
    ["Santa Claus", "Mrs. Claus", "mx claus"],
    ["old man", "old woman", "older person"],
    ["men holding hands", "women holding hands", "woman and man holding hands"],
    ["family", "family: man, woman, boy", "family: woman, girl"],
    ["kiss", "kiss: woman, man", "kiss: person, person, light skin tone, dark skin tone"],
]


def test_gender_and_skin_tone_variants_of_one_emoji_stay_on_one_side_of_the_split() -> None:
    data = load_emoji(24)
    entries = parse_emoji_test()
    keys = [_variant_key(e.codepoints) for e in entries]
    family = dict(zip([e.name for e in entries], data.family.tolist(), strict=True))
    for names in VARIANTS:
        assert len({family[n] for n in names}) == 1, names
    for seed in range(3):
        train, test = split_by_family(data, 0.2, seed=seed)
        by_id = {id_: keys[i] for i, id_ in enumerate(data.ids)}
        both = {by_id[i] for i in train.ids} & {by_id[i] for i in test.ids}
        assert not both, [chr(c) for key in list(both)[:5] for c in key]


def _png(path: Path) -> None:
    Image.fromarray(np.full((10, 12, 4), 128, dtype=np.uint8)).save(path)


def test_caption_csv_reader(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    csv = tmp_path / "pairs.csv"
    csv.write_text("image,caption,label\na.png,a grey square,x\nb.png,another one,y\n")
    data = load_caption_csv(csv, size=8)
    assert data.images.shape == (2, 3, 8, 8) and data.captions[1] == "another one"
    assert data.classes == ["x", "y"]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("image,caption\na.png,fine\nmissing.png,a caption\n", r"line 3: field 'image'.*missing"),
        ("image,caption\na.png,fine\na.png,   \n", r"line 3: field 'caption' is empty"),
        ("picture,caption\na.png,fine\n", r"line 1 \(header\) has no column 'image'"),
        ("image,caption\n", "no rows"),
    ],
)
def test_malformed_caption_csv_gives_a_clear_error(tmp_path: Path, body: str, match: str) -> None:
    _png(tmp_path / "a.png")
    csv = tmp_path / "pairs.csv"
    csv.write_text(body)
    with pytest.raises(DataFormatError, match=match):
        load_caption_csv(csv)


def clip_views(size: int):
    """The image-text modality's default views (one mild crop, no flips or colour)."""
    cfg = load_config(None, {"data.dataset": "emoji", "train.steps": 1, "views.size": size})
    return build_image_views(cfg.views)


def test_views_keep_shape_and_dtype_differ_per_sample_and_repeat_under_a_seed() -> None:
    views = clip_views(16)
    x = torch.randint(0, 256, (1, 3, 16, 16), dtype=torch.uint8).repeat(6, 1, 1, 1)
    (v,) = views(x, torch.Generator().manual_seed(0))
    assert v.shape == (6, 3, 16, 16) and v.dtype == torch.float32
    assert not torch.allclose(v[0], v[1])  # same image, different draws
    (again,) = views(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(v, again)


def test_pair_batches_give_image_view_and_tokens() -> None:
    data = ImageTextData(
        images=torch.zeros(5, 3, 8, 8, dtype=torch.uint8),
        captions=["a", "b", "c", "a", "d"],
    )

    def tokenize(texts):
        ids = torch.tensor([[ord(t)] for t in texts])
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    source = PairBatches(data.images, data.captions, tokenize, image_views=clip_views(8))
    batch = source.batch(torch.tensor([2, 0]), torch.Generator())
    image, tokens = batch.views
    assert image.shape == (2, 3, 8, 8) and tokens["input_ids"].tolist() == [[99], [97]]
    order = source.order(0, batch_size=2).tolist()
    for start in range(0, 4, 2):  # the two "a" captions never share a full batch
        assert {order[start], order[start + 1]} != {0, 3}
    with pytest.raises(ValueError, match="one entry per image"):
        PairBatches(data.images, data.captions[:3], tokenize, image_views=clip_views(8))
