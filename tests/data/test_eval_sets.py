"""The evaluation sets built from installed packages: counts, classes, a fixed split by
group that is disjoint and deterministic, the named-dataset and folder exports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from contrastkit.data import load_dataset
from contrastkit.data.eval_sets import EVAL_SETS, export_image_folder, load_eval_set
from contrastkit.data.fixed_split import group_in_test
from contrastkit.data.font_letters import FONT_DIR, LETTERS, load_font_letters
from contrastkit.data.mate_icons import ICON_DIR
from contrastkit.data.registry import DATASETS, has_test_split
from contrastkit.data.tux_stamps import STAMP_DIR
from contrastkit.data.twemoji import find_package, load_twemoji
from contrastkit.errors import ConfigError, DatasetNotFoundError

# (train, test) images, classes, channels and side with the pinned package versions
EXPECTED = {
    "font-letters": (9802, 2080, 26, 1, 28),
    "tux-stamps": (599, 143, 10, 3, 32),
    "twemoji": (1516, 390, 9, 3, 32),
    "mate-icons": (288, 97, 6, 3, 32),
}


def _installed(name: str) -> bool:
    if name == "twemoji":
        try:
            find_package()
        except DatasetNotFoundError:
            return False
        return True
    folder = {"font-letters": FONT_DIR, "tux-stamps": STAMP_DIR, "mate-icons": ICON_DIR}[name]
    return folder.is_dir()


def _require(name: str) -> None:
    """Skip when the set's package is missing here; in CI (setup.sh installs it) fail."""
    if not _installed(name):
        message = f"{name} is not installed ({EVAL_SETS[name].install})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_counts_classes_and_shapes(name: str) -> None:
    _require(name)
    n_train, n_test, n_classes, channels, side = EXPECTED[name]
    train, test = load_eval_set(name, "train"), load_eval_set(name, "test")
    assert (len(train), len(test)) == (n_train, n_test)
    assert train.classes == test.classes and len(train.classes) == n_classes
    for part in (train, test):
        assert part.images.shape[1:] == (channels, side, side)
        assert part.images.dtype == torch.uint8 and part.labels.dtype == torch.int64
        assert part.labels.bincount(minlength=n_classes).min() >= 3  # every class on each side
        assert part.images.float().std() > 20  # real pictures, not blank canvases
    assert len(set(train.ids)) == n_train and len(set(test.ids)) == n_test


@pytest.mark.parametrize("name", list(EXPECTED))
def test_split_is_disjoint_and_deterministic(name: str) -> None:
    _require(name)
    train, test, everything = (load_eval_set(name, s) for s in ("train", "test", "all"))
    assert set(train.ids).isdisjoint(test.ids)
    assert set(train.ids) | set(test.ids) == set(everything.ids)
    again = load_eval_set(name, "test")
    assert again.ids == test.ids and torch.equal(again.images, test.images)
    assert torch.equal(again.labels, test.labels)


def test_font_split_keeps_fonts_and_families_apart() -> None:
    _require("font-letters")
    train, test = load_font_letters("train"), load_font_letters("test")
    fonts = {s: {i.split("/")[0] for i in d.ids} for s, d in (("train", train), ("test", test))}
    assert fonts["train"].isdisjoint(fonts["test"])
    assert len(fonts["test"]) == 80 and len(test) == 26 * 80
    assert test.classes == list(LETTERS)
    # "Ataxia" and "Ataxia Outline" are one family: both on one side
    assert ("ataxia" in fonts["test"]) == ("ataxiao" in fonts["test"])


def test_font_cache_matches_a_fresh_render(tmp_path: Path) -> None:
    _require("font-letters")
    cached = load_font_letters("test")
    fonts = sorted({i.split("/")[0] for i in cached.ids})[:3]
    for stem in fonts:
        (tmp_path / f"{stem}.ttf").symlink_to(FONT_DIR / f"{stem}.ttf")
    fresh = load_font_letters("all", font_dir=tmp_path, cache=False)
    for stem in fonts:
        mine = [k for k, i in enumerate(fresh.ids) if i.startswith(f"{stem}/")]
        theirs = [k for k, i in enumerate(cached.ids) if i.startswith(f"{stem}/")]
        assert torch.equal(fresh.images[mine], cached.images[theirs])


def test_twemoji_gender_variants_share_a_side() -> None:
    _require("twemoji")
    train, test = set(load_twemoji("train").ids), set(load_twemoji("test").ids)
    surfing = ["1f3c4", "1f3c4-200d-2642-fe0f", "1f3c4-200d-2640-fe0f"]  # surfer, man, woman
    sides = {i in test for i in surfing if i in train | test}
    assert len(sides) == 1


def test_group_split_is_a_fixed_hash() -> None:
    assert [group_in_test(g) for g in ("ataxia", "animals/birds/owl", "x", "y")] == [
        group_in_test(g) for g in ("ataxia", "animals/birds/owl", "x", "y")
    ]
    share = sum(group_in_test(f"group {i}") for i in range(5000)) / 5000
    assert 0.18 < share < 0.22
    assert not group_in_test("anything", fraction=0.0) and group_in_test("anything", 1.0)


def test_registered_as_named_datasets_with_a_test_split() -> None:
    for name in EVAL_SETS:
        assert name in DATASETS and has_test_split(name)
    with pytest.raises(ConfigError, match="split"):
        load_eval_set("mate-icons", "validation")
    with pytest.raises(ConfigError, match="unknown evaluation set"):
        load_eval_set("nope")


def test_named_dataset_resizes_like_the_others() -> None:
    _require("mate-icons")
    data = load_dataset("mate-icons", "test", image_size=16, channels=1)
    assert data.images.shape == (97, 1, 16, 16)


def test_missing_package_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="apt-get install -y fonts-aenigma"):
        load_font_letters(font_dir=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="npm install -g emoji-datasource-twitter"):
        load_twemoji(package_dir=tmp_path)


def test_export_writes_the_split_folder_a_user_trains_on(tmp_path: Path) -> None:
    _require("mate-icons")
    out = tmp_path / "icons"
    counts = export_image_folder("mate-icons", out)
    assert counts == {"train": 288, "test": 97}
    assert (out / "README.txt").read_text().startswith("mate-icons: ")
    assert has_test_split(str(out))
    named = load_dataset("mate-icons", "test")
    folder = load_dataset(str(out), "test")
    assert folder.name == "icons" and folder.classes == named.classes
    # the same images and labels, in the folder's file order
    order = sorted(range(len(named)), key=lambda i: (named.labels[i].item(), i))
    assert torch.equal(folder.images, named.images[order])
    assert torch.equal(folder.labels, named.labels[order])
    assert export_image_folder("mate-icons", out) == counts  # written once, then kept
    with pytest.raises(ConfigError, match="not an export"):
        export_image_folder("mate-icons", tmp_path)
