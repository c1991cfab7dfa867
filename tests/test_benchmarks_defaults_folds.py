"""benchmarks/defaults_folds.py without training: folds keep groups whole and test every
image once, a fold's folders hold the same classes on both sides, and the pooled rows
weigh folds by their test images and pair the systems fold by fold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import defaults_folds as df


def _items(root: Path, groups: int = 24, per_group: int = 3) -> list[tuple[Path, str, str]]:
    """Fake exported images: `groups` groups of `per_group` files, in classes a, b, c."""
    items = []
    for g in range(groups):
        name = "abc"[g % 3]
        for i in range(per_group):
            path = root / ("train" if g % 5 else "test") / name / f"{g:03d}-{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
            items.append((path, name, f"g{g}"))
    return items


def test_folds_keep_groups_whole_and_test_every_item_once(tmp_path: Path) -> None:
    items = _items(tmp_path)
    folds = df.assign_folds([c for _, c, _ in items], [g for *_, g in items], 4)
    assert sorted(set(folds.tolist())) == [0, 1, 2, 3]  # each item in exactly one fold
    by_group: dict[str, set[int]] = {}
    for (_, _, group), fold in zip(items, folds, strict=True):
        by_group.setdefault(group, set()).add(int(fold))
    assert all(len(f) == 1 for f in by_group.values())
    assert np.bincount(folds).min() >= 12  # 72 items in 4 folds of 18 (groups of 3)
    again = df.assign_folds([c for _, c, _ in items], [g for *_, g in items], 4)
    assert (again == folds).all()  # fixed shuffle: the same folds every time


def test_too_few_groups_for_the_folds_is_refused(tmp_path: Path) -> None:
    items = _items(tmp_path, groups=3)
    with pytest.raises(ValueError, match="3 groups cannot fill 4 folds"):
        df.assign_folds([c for _, c, _ in items], [g for *_, g in items], 4)


def test_fold_folder_splits_by_fold_and_leaves_out_one_sided_classes(tmp_path: Path) -> None:
    items = _items(tmp_path / "set", groups=6)  # classes a, b, c, two groups each
    folds = np.array([0 if g in ("g0", "g1") else 1 for *_, g in items])  # a, b in fold 0
    counts = df.fold_folder(items, folds, 1, tmp_path / "fold")
    # fold 1 tests g2..g5 (c, a, b, c); its train side (g0, g1) has no c: c is left out
    assert counts == {"train": 6, "test": 6, "left_out": ["c"]}
    for side in ("train", "test"):
        assert sorted(p.name for p in (tmp_path / "fold" / side).iterdir()) == ["a", "b"]
    tested = {p.name.split("-")[0] for p in (tmp_path / "fold" / "test").rglob("*.png")}
    assert tested == {"003", "004"}


def test_a_class_with_one_image_on_a_side_is_left_out(tmp_path: Path) -> None:
    items = _items(tmp_path / "set", groups=6)
    items.append((tmp_path / "set" / "train" / "c" / "lone.png", "c", "g6"))
    items[-1][0].write_bytes(b"x")
    folds = np.array([0 if g in ("g0", "g1", "g6") else 1 for *_, g in items])
    # fold 1's train side holds one c image (g6): one is too few for a run, c stays out
    assert df.fold_folder(items, folds, 1, tmp_path / "fold")["left_out"] == ["c"]
    folds[:3] = 1  # g0's three a images to fold 1 too: a has 6 there, 0 in training
    counts = df.fold_folder(items, folds, 1, tmp_path / "fold")
    assert counts["left_out"] == ["a", "c"] and counts["test"] == 3  # b's g4 only


def test_a_class_with_two_images_on_each_side_is_kept(tmp_path: Path) -> None:
    spec = [("a", 0), ("a", 0), ("a", 1), ("a", 1), ("b", 0), ("b", 0), ("b", 0), ("b", 1)]
    items = []
    for i, (name, _) in enumerate(spec):
        path = tmp_path / "set" / name / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        items.append((path, name, f"g{i}"))
    folds = np.array([fold for _, fold in spec])
    counts = df.fold_folder(items, folds, 1, tmp_path / "fold")
    assert counts == {"train": 2, "test": 2, "left_out": ["b"]}  # a: 2 and 2; b: 3 and 1


def test_pooled_weighs_folds_by_test_images_and_pairs_systems() -> None:
    def row(system: str, fold: int, value: float, n: int) -> dict:
        return {"dataset": "d", "system": system, "metric": "knn_top1", "value": value,
                "fold": fold, "test_images": n}  # fmt: skip

    rows = [  # the baseline's folds in the other order: pairs are by fold, not by position
        row("trained encoder (simclr)", 0, 0.5, 100), row("trained encoder (simclr)", 1, 0.8, 300),
        row("raw pixels", 1, 0.6, 300), row("raw pixels", 0, 0.6, 100),
        row("random-init encoder", 1, 0.8, 300), row("random-init encoder", 0, 0.4, 100),
    ]  # fmt: skip
    lines = {line["system"]: line for line in df.pooled(rows)}
    assert lines["trained encoder (simclr)"]["pooled"] == pytest.approx((50 + 240) / 400)
    assert lines["raw pixels"]["pooled"] == pytest.approx(0.6)
    trained = lines["trained encoder (simclr)"]
    assert trained["minus raw pixels"] == pytest.approx(0.05)  # (-0.1 + 0.2) / 2
    assert trained["minus raw pixels std"] == pytest.approx(np.std([-0.1, 0.2], ddof=1))
    assert trained["folds won over raw pixels"] == "1/2"
    assert trained["minus random-init encoder"] == pytest.approx(0.05)  # (0.1 + 0.0) / 2
    assert trained["folds won over random-init encoder"] == "1/2"  # the tie is not won
