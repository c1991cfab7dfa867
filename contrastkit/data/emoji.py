"""Noto Color Emoji images paired with their Unicode names: a real image-text dataset.

The Unicode emoji test file (Debian package unicode-data) lists every fully-qualified emoji
sequence with its group, subgroup and CLDR name; each is drawn with the Noto Color Emoji
bitmap font (Debian package fonts-noto-color-emoji) at its native 109 px size and scaled
down. About 3,650 images in 9 groups and 99 subgroups. Skin-tone and gender variants of one
emoji share a family id (`emoji_families`), so `split_by_family` keeps them in one split.
Rendered arrays are cached under $CONTRASTKIT_CACHE (default ~/.cache/contrastkit); they are
never part of the repository.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from contrastkit.data.emoji_families import code_point_base, emoji_families
from contrastkit.data.image_text import ImageTextData, caption_phrases, decode_rgb
from contrastkit.errors import DataFormatError, DatasetNotFoundError

__all__ = [
    "EMOJI_FONT",
    "EMOJI_TEST",
    "EmojiEntry",
    "cache_dir",
    "group_prompts",
    "load_emoji",
    "parse_emoji_test",
    "render_emoji",
]

EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
_INSTALL = "apt-get install -y fonts-noto-color-emoji unicode-data"
_FONT_SIZE = 109  # the only size of the font's bitmap strikes
_CANVAS = (136, 128)
_LINE = re.compile(r"^([0-9A-Fa-f ]+);\s*([a-z-]+)\s*#\s*\S+\s+E\d+\.\d+\s+(.+)$")
CAPTION_STYLES = ("name", "name+subgroup")


@dataclass(frozen=True)
class EmojiEntry:
    """One line of emoji-test.txt.

    Attributes:
        codepoints: the sequence's code points.
        group, subgroup: the CLDR ordering categories the line sits under.
        name: CLDR short name, e.g. "waving hand: light skin tone".
        line: 1-based line number in the file.
    """

    codepoints: tuple[int, ...]
    group: str
    subgroup: str
    name: str
    line: int

    @property
    def text(self) -> str:
        return "".join(chr(c) for c in self.codepoints)

    @property
    def base(self) -> tuple[int, ...]:
        """Code points without skin tones, variation selectors and ZWJ + gender sign."""
        return code_point_base(self.codepoints)


def parse_emoji_test(
    path: str | Path = EMOJI_TEST, *, status: str = "fully-qualified"
) -> list[EmojiEntry]:
    """The entries of a Unicode emoji-test.txt with the given qualification status.

    Args:
        path: the file (default: Debian's unicode-data copy).
        status: "fully-qualified", "minimally-qualified", "unqualified" or "component".

    Raises:
        DatasetNotFoundError: the file is missing (the message says what to install).
        DataFormatError: a data line before any group/subgroup header, or a data line that
            does not read `code points ; status # emoji E<version> name`.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist; install it with: {_INSTALL}")
    group = subgroup = None
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("# group:"):
            group, subgroup = line.split(":", 1)[1].strip(), None
            continue
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
            continue
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise DataFormatError(
                f"{path}: line {number}: expected 'code points ; status # emoji E<version> "
                f"name', got {line[:80]!r}"
            )
        if group is None or subgroup is None:
            raise DataFormatError(
                f"{path}: line {number}: emoji entry before any '# group:' and '# subgroup:' header"
            )
        if match.group(2) != status:
            continue
        try:
            codepoints = tuple(int(c, 16) for c in match.group(1).split())
        except ValueError as e:
            raise DataFormatError(f"{path}: line {number}: bad code point ({e})") from e
        entries.append(EmojiEntry(codepoints, group, subgroup, match.group(3).strip(), number))
    if not entries:
        raise DataFormatError(f"{path}: no {status} emoji entries found")
    return entries


def render_emoji(
    entries: Sequence[EmojiEntry], size: int = 32, font: str | Path = EMOJI_FONT
) -> torch.Tensor:
    """Draw each entry with the colour font, composite on white, scale to (size, size).

    Returns:
        (N, 3, size, size) uint8 RGB.

    Raises:
        DatasetNotFoundError: the font file is missing.
        ValueError: size < 8.
    """
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    font = Path(font)
    if not font.is_file():
        raise DatasetNotFoundError(f"emoji font {font} does not exist; install it with: {_INSTALL}")
    face = ImageFont.truetype(str(font), _FONT_SIZE)
    side = max(_CANVAS)
    out = np.empty((len(entries), size, size, 3), dtype=np.uint8)
    for i, entry in enumerate(entries):
        glyph = Image.new("RGBA", _CANVAS, (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((0, 0), entry.text, font=face, embedded_color=True)
        square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        square.paste(glyph, ((side - _CANVAS[0]) // 2, (side - _CANVAS[1]) // 2))
        out[i] = decode_rgb(square, size)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def cache_dir() -> Path:
    """$CONTRASTKIT_CACHE, or ~/.cache/contrastkit."""
    root = os.environ.get("CONTRASTKIT_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "contrastkit"


def _cached_render(
    entries: list[EmojiEntry], size: int, test_file: Path, font: Path
) -> torch.Tensor:
    digest = hashlib.sha1()
    for p in (test_file, font):
        digest.update(p.read_bytes() if p == test_file else str(p.stat().st_size).encode())
    digest.update(str(size).encode())
    path = cache_dir() / f"emoji-{size}px-{digest.hexdigest()[:12]}.npy"
    expected = (len(entries), 3, size, size)
    if path.is_file():
        array = np.load(path, allow_pickle=False)
        if array.shape == expected and array.dtype == np.uint8:
            return torch.from_numpy(array)
    images = render_emoji(entries, size, font)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
    np.save(tmp, images.numpy(), allow_pickle=False)
    os.replace(tmp, path)
    return images


def load_emoji(
    size: int = 32,
    *,
    caption: str = "name+subgroup",
    test_file: str | Path = EMOJI_TEST,
    font: str | Path = EMOJI_FONT,
    cache: bool = True,
) -> ImageTextData:
    """All fully-qualified emoji as images with captions, group labels and families.

    Args:
        size: image side in pixels.
        caption: "name+subgroup" ("waving hand: light skin tone (hand fingers open)") or
            "name" ("waving hand: light skin tone").
        test_file, font: the Unicode test file and the colour font.
        cache: reuse (and write) the rendered array in `cache_dir()`.

    Returns:
        ImageTextData with labels = group index (classes in file order), family = base
        emoji (skin-tone and gender variants share one, see `emoji_families`), subgroups
        per item.
    """
    if caption not in CAPTION_STYLES:
        raise ValueError(f"caption must be one of {CAPTION_STYLES}, got {caption!r}")
    test_file, font = Path(test_file), Path(font)
    entries = parse_emoji_test(test_file)
    if cache:
        images = _cached_render(entries, size, test_file, font)
    else:
        images = render_emoji(entries, size, font)
    classes = list(dict.fromkeys(e.group for e in entries))
    captions = [
        e.name if caption == "name" else f"{e.name} ({e.subgroup.replace('-', ' ')})"
        for e in entries
    ]
    return ImageTextData(
        images=images,
        captions=captions,
        labels=torch.tensor([classes.index(e.group) for e in entries]),
        classes=classes,
        family=torch.tensor(
            emoji_families([e.codepoints for e in entries], [e.name for e in entries])
        ),
        subgroups=[e.subgroup for e in entries],
        name="emoji",
        ids=[" ".join(f"{c:04X}" for c in e.codepoints) for e in entries],
    )


def group_prompts(
    data: ImageTextData,
    *,
    template: str = "an emoji of {}",
    subgroups: bool = True,
    unseen_in: Sequence[str] = (),
) -> tuple[list[str], torch.Tensor]:
    """Zero-shot prompts for the classes of `data` (emoji groups), none seen in training.

    Each class gets the prompt of its own name ("an emoji of food and drink") and, when
    `subgroups` is set, one prompt per subgroup seen under it ("an emoji of food fruit");
    `contrastkit.evaluate.zero_shot.class_embeddings` averages a class's prompts (prompt
    ensembling, Radford et al. 2021, sec. 3.1.4). A prompt is left out when it, or the
    name put into the template, is one of the `unseen_in` captions or a part of one
    (`caption_phrases`), or when it occurs inside one of them: zero-shot then asks for text
    the model was not trained on (with "name+subgroup" captions the subgroup names are in
    every training caption, so their prompts go).

    Args:
        data: labelled data with class names (and subgroups).
        template: the prompt around a class or subgroup name.
        subgroups: add one prompt per subgroup.
        unseen_in: the training captions.

    Returns:
        prompts (P,) and their class indices (P,) int64.

    Raises:
        ValueError: data without labels, or a class left without a prompt.
    """
    if data.labels is None or data.classes is None:
        raise ValueError("group_prompts needs data with labels and classes")
    seen = caption_phrases(unseen_in)
    captions = [" ".join(c.lower().split()) for c in unseen_in]
    candidates = [(c, name.lower().replace("&", "and")) for c, name in enumerate(data.classes)]
    if subgroups and data.subgroups is not None:
        pairs = dict.fromkeys(zip(data.labels.tolist(), data.subgroups, strict=True))
        candidates += [(c, sub.replace("-", " ").lower()) for c, sub in pairs]
    prompts, owner = [], []
    for c, name in candidates:
        prompt = template.format(name)
        text = " ".join(prompt.lower().split())
        if name in seen or text in seen or any(text in caption for caption in captions):
            continue
        prompts.append(prompt)
        owner.append(c)
    missing = sorted(set(range(len(data.classes))) - set(owner))
    if missing:
        raise ValueError(
            f"zero-shot prompts: class {data.classes[missing[0]]!r} has no prompt that is "
            "absent from the training captions; change the template"
        )
    return prompts, torch.tensor(owner, dtype=torch.int64)
