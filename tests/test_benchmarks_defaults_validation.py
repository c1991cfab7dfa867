"""benchmarks/defaults_validation.py without training: the validation re-split reads only
the training images, keeps a font block on one side, and variants are parsed or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import defaults_validation as dv
from contrastkit.data.eval_sets import export_image_folder
from contrastkit.data.mate_icons import ICON_DIR


def _folder(root: Path, fonts: int = 120) -> Path:
    """A fake exported font-letters folder: fonts x 2 letters in train, one file in test."""
    for font in range(fonts):
        for i, letter in enumerate("ab"):
            path = root / "train" / letter / f"{font * 26 + i:05d}-font{font}-{letter}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
    (root / "test" / "a").mkdir(parents=True)
    (root / "test" / "a" / "00000-unseen-a.png").write_bytes(b"x")
    return root


def test_font_letters_split_keeps_each_font_block_on_one_side(tmp_path: Path) -> None:
    counts = dv.validation_folder("font-letters", _folder(tmp_path / "set"), tmp_path / "val")
    assert counts["train"] + counts["test"] == 240
    assert 0.05 < counts["test"] / 240 < 0.4  # about SHARE of 15 blocks
    sides: dict[int, set[str]] = {}
    for path in (tmp_path / "val").rglob("*.png"):
        font = int(path.name.split("-")[0]) // 26
        sides.setdefault(font // dv.FONTS_PER_BLOCK, set()).add(path.parts[-3])
    assert all(len(s) == 1 for s in sides.values())  # a block never straddles the split
    assert {side for s in sides.values() for side in s} == {"train", "test"}


def test_the_sets_test_split_is_never_read(tmp_path: Path) -> None:
    dv.validation_folder("twemoji", _folder(tmp_path / "set"), tmp_path / "val")
    names = {p.name for p in (tmp_path / "val").rglob("*.png")}
    assert "00000-unseen-a.png" not in names and len(names) == 240


def test_split_is_the_same_every_time(tmp_path: Path) -> None:
    source = _folder(tmp_path / "set")
    dv.validation_folder("font-letters", source, tmp_path / "v1")
    dv.validation_folder("font-letters", source, tmp_path / "v2")
    listing = [
        sorted(p.relative_to(v) for p in v.rglob("*.png"))
        for v in (tmp_path / "v1", tmp_path / "v2")
    ]
    assert listing[0] == listing[1]


def test_variants_parse_to_set_flags_and_bad_ones_are_refused() -> None:
    assert dv.parse_variant("base=") == ("base", [])
    name, flags = dv.parse_variant("s=views.stroke_p=0.5;views.flip_p=0")
    assert name == "s" and flags == ["--set", "views.stroke_p=0.5", "--set", "views.flip_p=0"]
    with pytest.raises(ValueError, match="NAME=KEY=VALUE"):
        dv.parse_variant("base")
    with pytest.raises(ValueError, match="not KEY=VALUE"):
        dv.parse_variant("s=views.stroke_p")
    with pytest.raises(ValueError, match="taken"):
        dv.parse_variant("tuned=views.flip_p=0")


@pytest.mark.skipif(not ICON_DIR.is_dir(), reason="needs mate-icon-theme (scripts/setup.sh)")
def test_mate_icons_validation_keeps_an_icon_group_on_one_side(tmp_path: Path) -> None:
    export_image_folder("mate-icons", tmp_path / "set")
    counts = dv.validation_folder("mate-icons", tmp_path / "set", tmp_path / "val")
    assert counts["train"] + counts["test"] == 288 and counts["test"] > 20
    sides: dict[str, set[str]] = {}
    for path in (tmp_path / "val").rglob("*.png"):
        name = path.stem.split("-", 2)[2]  # "NNNNN-context-name" -> "name"
        word = name.removeprefix("gnome-mime-").removeprefix("gnome-").split("-")[0]
        sides.setdefault(word, set()).add(path.parts[-3])
    folders = [w for w in ("folder", "edit", "media") if w in sides]
    assert folders and all(len(sides[w]) == 1 for w in folders)  # e.g. folder-music, -remote
