"""Which emoji are variants of one another: skin tones, genders, and the people in a family.

Two emoji are in one family when they share a base by code points (skin-tone modifiers
U+1F3FB..U+1F3FF, the emoji variation selector, and a zero-width joiner followed by a gender
sign removed) or by CLDR name (skin tones and hair-free attribute lists of people removed,
man/woman/person and their plurals, boy/girl/child and a few gendered pairs such as prince /
princess merged, a leading "person" dropped so that "man cook" and "cook" meet). Families are
the connected groups of these links, so "man running: dark skin tone" joins "person running"
through "man running". A split by family keeps every variant of an emoji on one side.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["code_point_base", "emoji_families", "name_base"]

SKIN_TONES = frozenset(range(0x1F3FB, 0x1F400))
VARIATION_SELECTOR = 0xFE0F
ZWJ = 0x200D
GENDER_SIGNS = frozenset({0x2640, 0x2642})  # female sign, male sign
# gendered words -> one neutral word (whole, space-delimited words only: "man’s shoe" stays)
_NEUTRAL = {
    "man": "person", "woman": "person", "person": "person", "adult": "person",
    "men": "people", "women": "people", "people": "people",
    "boy": "child", "girl": "child", "child": "child",
    "older": "old", "prince": "person with crown", "princess": "person with crown",
}  # fmt: skip
_NAMES = {"mrs. claus": "santa claus", "mx claus": "santa claus"}
_PEOPLE = {"person", "people", "child"}
_SKIN = re.compile(r"^(light|medium-light|medium|medium-dark|dark) skin tone$")


def code_point_base(codepoints: Sequence[int]) -> tuple[int, ...]:
    """The code points without skin tones, variation selectors and ZWJ + gender sign."""
    out: list[int] = []
    for c in codepoints:
        if c in SKIN_TONES or c == VARIATION_SELECTOR:
            continue
        if c in GENDER_SIGNS and out and out[-1] == ZWJ:
            out.pop()
            continue
        out.append(c)
    return tuple(out)


def name_base(name: str) -> str:
    """A CLDR name without skin tones and gender: "woman cook: dark skin tone" -> "cook".

    Attributes after the colon that are skin tones or people ("family: man, woman, boy",
    "kiss: woman, man, light skin tone") are dropped; others ("man: beard") are kept.
    """
    head, _, tail = name.lower().partition(": ")
    head = _NAMES.get(head, head)
    words = " ".join(_NEUTRAL.get(w, w) for w in head.split())
    words = words.replace("person and person", "people")
    words = words.removeprefix("person ") if words != "person" else words
    attributes = [a.strip() for a in tail.split(",")] if tail else []
    kept = [a for a in attributes if not _SKIN.match(a) and _NEUTRAL.get(a) not in _PEOPLE]
    return f"{words}: {', '.join(kept)}" if kept else words


def emoji_families(codepoints: Sequence[Sequence[int]], names: Sequence[str]) -> list[int]:
    """A family id per emoji (0, 1, ... in order of first appearance).

    Args:
        codepoints: each emoji's code points.
        names: each emoji's CLDR short name (emoji-test.txt), same length.

    Returns:
        N ids; two emoji share one when linked by `code_point_base` or `name_base`.

    Example:
        >>> emoji_families([(0x1F3C3,), (0x1F3C3, 0x200D, 0x2640, 0xFE0F)],
        ...                ["person running", "woman running"])
        [0, 0]
    """
    if len(codepoints) != len(names):
        raise ValueError(
            f"codepoints and names must have one entry per emoji, got {len(codepoints)} "
            f"and {len(names)}"
        )
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for keys in (map(code_point_base, codepoints), map(name_base, names)):
        first: dict[object, int] = {}
        for i, key in enumerate(keys):
            parent[root(i)] = root(first.setdefault(key, i))
    ids: dict[int, int] = {}
    return [ids.setdefault(root(i), len(ids)) for i in range(len(names))]
