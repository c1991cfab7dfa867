"""Held-out splits of an image dataset: a test split for data without one, classes left
out of training, and kNN-monitor queries held out of the training items."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.errors import ContrastkitError

__all__ = ["HOLDOUT_CAP", "HOLDOUT_MIN_TRAIN", "HOLDOUT_SHARE", "ImageSplits", "compile_group",
           "group_keys", "grouped_held_out", "held_out", "monitor_holdout",
           "split_images"]  # fmt: skip

HOLDOUT_SHARE = 0.1  # of the training items held out as kNN-monitor queries
HOLDOUT_CAP = 1000  # at most this many
HOLDOUT_MIN_TRAIN = 500  # none below this many training items


def held_out(n: int, size: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out, kept) positions of a random split of `n` items: `size` < 1 is a share,
    >= 1 a count (at least one item each side)."""
    count = _held_count(n, size)
    order = torch.randperm(n, generator=generator)
    return order[:count], order[count:]


def _held_count(n: int, size: float) -> int:
    """Items to hold out of `n`: `size` < 1 a share, else a count; 1 to n - 1."""
    return min(max(round(size * n) if size < 1 else int(size), 1), n - 1)


def compile_group(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled; the one check behind `data.group`, `--group` and `group_keys`.

    Raises:
        ContrastkitError: `pattern` is not a regular expression (named, with why).
    """
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ContrastkitError(
            f"group pattern {pattern!r} is not a regular expression: {exc}"
        ) from None


def group_keys(ids: Sequence[str], pattern: str) -> list[str]:
    r"""Each id's group: the first capture group of `pattern` searched in the id (the whole
    match if the pattern has no group), e.g. r"\d+-(\w+)-" on "a/00026-1015snr-a.png".

    Raises:
        ContrastkitError: an invalid pattern, or an id it does not match (named).
    """
    rx = compile_group(pattern)
    keys = []
    for item in ids:
        m = rx.search(item)
        if m is None:
            raise ContrastkitError(
                f"group pattern {pattern!r} does not match item {item!r}: every item id (its "
                "path inside the dataset) must name its group"
            )
        keys.append(m.group(1) if rx.groups else m.group(0))
    return keys


def grouped_held_out(
    ids: Sequence[str], size: float, generator: torch.Generator, pattern: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out, kept) positions like `held_out`, but whole groups (`group_keys`) go to one
    side: groups are drawn at random until the held-out side has about `size` items (a
    share < 1 or a count), at least one group each side.

    Raises:
        ContrastkitError: as `group_keys`, or fewer than two groups.
    """
    keys = group_keys(ids, pattern)
    names = sorted(set(keys))
    if len(names) < 2:
        raise ContrastkitError(
            f"group pattern {pattern!r} puts all {len(ids)} items in one group "
            f"({names[0]!r}); a split needs at least two"
        )
    code = {name: i for i, name in enumerate(names)}
    group = torch.tensor([code[k] for k in keys])
    target = _held_count(len(ids), size)
    order = torch.randperm(len(names), generator=generator)
    sizes = torch.bincount(group, minlength=len(names))[order]
    # the fewest groups whose items reach the target, one group left for the kept side
    taken = int(torch.searchsorted(sizes.cumsum(0), target)) + 1
    held = torch.isin(group, order[: min(taken, len(names) - 1)])
    return torch.nonzero(held).squeeze(1), torch.nonzero(~held).squeeze(1)


def monitor_holdout(n_train: int) -> int:
    """The default number of kNN-monitor queries held out of `n_train` labelled training
    items: 10% of them, at most 1,000, and none below 500 items (fewer than 50 queries
    measure an accuracy to +-7 points, while every item taken out is one less to train on).

    Example:
        >>> monitor_holdout(4000), monitor_holdout(60000), monitor_holdout(400)
        (400, 1000, 0)
    """
    if n_train < HOLDOUT_MIN_TRAIN:
        return 0
    return min(HOLDOUT_CAP, round(HOLDOUT_SHARE * n_train))


@dataclass
class ImageSplits:
    """train: what training draws from; queries: monitor queries held out of it; pool: the
    two together in the data's order (the evaluation's kNN bank); test: the test split."""

    train: ImageDataset
    queries: ImageDataset | None
    pool: ImageDataset
    test: ImageDataset | None


def split_images(
    train: ImageDataset,
    test: ImageDataset | None,
    *,
    test_size: float = 0.2,
    exclude_classes: list[int] = (),  # type: ignore[assignment]
    holdout: int | None = 0,
    seed: int = 0,
    group: str | None = None,
) -> ImageSplits:
    """Hold out a test split when labelled data has none (`test_size`), leave
    `exclude_classes` out of training, then hold out `holdout` monitor queries (None:
    `monitor_holdout` of the training items left). With `group` (a regular expression on
    the item ids, `group_keys`), both hold-outs take whole groups (`grouped_held_out`).

    Raises:
        ContrastkitError: classes excluded from unlabelled data or leaving nothing, a
            hold-out as large as the training items, or a group pattern as `group_keys`.
    """
    g = torch.Generator().manual_seed(seed)

    def split(data: ImageDataset, size: float) -> tuple[torch.Tensor, torch.Tensor]:
        if group is None:
            return held_out(len(data), size, g)
        return grouped_held_out(data.ids, size, g, group)

    if test is None and train.labels is not None and len(train) >= 10:
        out, keep = split(train, test_size)
        test, train = train.subset(out), train.subset(keep)
    if exclude_classes:
        if train.labels is None:
            raise ContrastkitError("data.exclude_classes needs labelled data")
        keep = ~torch.isin(train.labels, torch.tensor(list(exclude_classes)))
        if not keep.any():
            raise ContrastkitError(f"data.exclude_classes={exclude_classes} leaves no item")
        train = train.subset(torch.nonzero(keep).squeeze(1))
    pool, queries = train, None
    if holdout is None:
        holdout = monitor_holdout(len(train))
    if train.labels is not None and holdout > 0:
        if holdout >= len(train):
            raise ContrastkitError(
                f"data.holdout={holdout} must be smaller than the {len(train)} training items"
            )
        out, keep = split(train, holdout)  # ungrouped: the first `holdout` of a permutation
        queries, train = train.subset(out), train.subset(keep)
    return ImageSplits(train, queries, pool, test)
