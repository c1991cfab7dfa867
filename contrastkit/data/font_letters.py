"""Capital letters A-Z drawn in 465 display typefaces: a notMNIST-like glyph set.

The fonts are Brian Kent's "Ænigma" collection (Debian package fonts-aenigma, free
licence: redistribution allowed, see /usr/share/doc/fonts-aenigma/copyright). Each letter
of each font is drawn white on black, cropped to its ink, centred in a square with a
small margin and scaled down: one grayscale image per (font, letter), the letter is the
class. Fonts that lack a letter (blank, the font's missing-glyph box, two letters drawn
alike) or repeat another font's drawings are left out. The split is by font family (the
first word of the family name, so "Ataxia" and "Ataxia Outline" stay together): the test
letters are drawn in typefaces training never saw.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.fixed_split import cached_arrays, source_digest, split_dataset
from contrastkit.errors import DatasetNotFoundError

__all__ = ["FONT_DIR", "LETTERS", "load_font_letters", "render_font"]

FONT_DIR = Path("/usr/share/fonts/truetype/aenigma")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_INSTALL = "apt-get install -y fonts-aenigma"
_DRAW_SIZE = 64  # font size the glyphs are drawn at before scaling down
_MARGIN = 0.1  # share of the square left around the ink on each side
_MISSING = "\U0010fffd"  # a private-use code point no font here maps: its missing glyph


def _ink(face: ImageFont.FreeTypeFont, char: str) -> Image.Image | None:
    """`char` drawn white on black, cropped to its ink; None if it leaves no ink."""
    canvas = Image.new("L", (3 * _DRAW_SIZE, 2 * _DRAW_SIZE), 0)
    ImageDraw.Draw(canvas).text((_DRAW_SIZE // 2, _DRAW_SIZE // 4), char, fill=255, font=face)
    box = canvas.getbbox()
    return None if box is None else canvas.crop(box)


def _square(ink: Image.Image, size: int) -> np.ndarray:
    """Ink centred in a black square with `_MARGIN` around it, scaled to (size, size)."""
    side = int(max(ink.size) / (1 - 2 * _MARGIN)) + 1
    square = Image.new("L", (side, side), 0)
    square.paste(ink, ((side - ink.width) // 2, (side - ink.height) // 2))
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def render_font(path: str | Path, size: int = 28) -> np.ndarray | None:
    """The 26 capitals of one font as (26, size, size) uint8, or None when the font
    cannot be read or lacks a letter (no ink, its missing-glyph box, or two letters
    drawn alike)."""
    try:
        face = ImageFont.truetype(str(path), _DRAW_SIZE)
    except OSError:
        return None
    inks = [_ink(face, c) for c in LETTERS]
    if any(ink is None for ink in inks):
        return None
    missing = _ink(face, _MISSING)
    if missing is not None and any(ink.tobytes() == missing.tobytes() for ink in inks):
        return None
    glyphs = np.stack([_square(ink, size) for ink in inks])
    if len({g.tobytes() for g in glyphs}) < len(LETTERS):
        return None
    return glyphs


def _family(path: Path) -> str:
    """The first word of the font's family name, lower case ("ataxia"); the file name
    if the font has none."""
    try:
        name = ImageFont.truetype(str(path), 12).getname()[0] or path.stem
    except OSError:
        name = path.stem
    words = re.findall(r"[0-9a-z]+", name.lower().replace(" brk", ""))
    return words[0] if words else path.stem.lower()


def _build(files: list[Path], size: int) -> dict[str, np.ndarray]:
    images, fonts, families, seen = [], [], [], set()
    for path in files:
        glyphs = render_font(path, size)
        if glyphs is None:
            continue
        digest = hashlib.sha1(glyphs.tobytes()).digest()
        if digest in seen:  # the same drawings under another file name
            continue
        seen.add(digest)
        images.append(glyphs)
        fonts.append(path.stem)
        families.append(_family(path))
    return {
        "images": np.stack(images),
        "fonts": np.array(fonts),
        "families": np.array(families),
    }


def load_font_letters(
    split: str = "train", size: int = 28, *, font_dir: str | Path = FONT_DIR, cache: bool = True
) -> ImageDataset:
    """Capitals A-Z in the installed Ænigma fonts, split by font family.

    With fonts-aenigma 0.0.20080511: 457 of the 465 fonts draw all 26 letters distinctly,
    11,882 images of 292 families; the hash split puts 80 fonts (2,080 images, 56
    families) in the test split and 377 fonts (9,802 images) in training.

    Args:
        split: "train", "test" or "all".
        size: image side in pixels.
        font_dir: the folder of .ttf files.
        cache: reuse (and write) the drawn glyphs under $CONTRASTKIT_CACHE.

    Returns:
        ImageDataset with images (N, 1, size, size) uint8 (white ink on black), labels the
        letter (classes "A".."Z"), ids "<font file stem>/<letter>", name "font-letters".

    Raises:
        DatasetNotFoundError: no fonts in `font_dir` (the message says what to install).
        ConfigError: unknown split.

    Example:
        >>> load_font_letters("test").images.shape  # (2080, 1, 28, 28)
    """
    font_dir = Path(font_dir)
    files = sorted(font_dir.glob("*.ttf")) if font_dir.is_dir() else []
    if not files:
        raise DatasetNotFoundError(f"no .ttf fonts in {font_dir}; install them with: {_INSTALL}")
    key = source_digest(files, size)
    arrays = cached_arrays("font-letters", key, lambda: _build(files, size), cache)
    n_fonts, n_letters = arrays["images"].shape[:2]
    return split_dataset(
        arrays["images"].reshape(n_fonts * n_letters, 1, size, size),
        labels=np.tile(np.arange(n_letters), n_fonts),
        groups=np.repeat(arrays["families"], n_letters).tolist(),
        ids=[f"{f}/{c}" for f in arrays["fonts"].tolist() for c in LETTERS],
        classes=list(LETTERS),
        name="font-letters",
        split=split,
    )
