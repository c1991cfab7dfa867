"""Miners: exact pair and triplet sets on a hand-built batch, brute force on random ones."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses.miners import mine_pairs, mine_triplets, pairwise_distance

# Six points on a line; d(i, j) = |x_i - x_j| exactly, so ties are real ties.
#   index:  0  1  2  3  4  5
#   x:      0  2  3  6  7  8
#   label:  0  0  1  1  1  2      (5 is alone in its class: it has no positive)
POINTS = torch.tensor([0.0, 2.0, 3.0, 6.0, 7.0, 8.0])
LABELS = torch.tensor([0, 0, 1, 1, 1, 2])
DISTANCES = (POINTS[:, None] - POINTS[None, :]).abs()
# Closest negative / farthest positive of each anchor:
#   0: neg 3 (n=2)  pos 2 (p=1)      3: neg 2 (n=5)  pos 3 (p=2)
#   1: neg 1 (n=2)  pos 2 (p=0)      4: neg 1 (n=5)  pos 4 (p=2)
#   2: neg 1 (n=1)  pos 4 (p=4)      5: neg 1 (n=4)  no positive

ALL_POSITIVE_PAIRS = {(0, 1), (2, 3), (2, 4), (3, 4)}
ALL_NEGATIVE_PAIRS = {
    (0, 2), (0, 3), (0, 4), (0, 5), (1, 2), (1, 3), (1, 4), (1, 5), (2, 5), (3, 5), (4, 5)
}  # fmt: skip
# Hard positive {i, j}: d > min(closest negative of i, of j). (3, 4): d = 1, not > 1.
HARD_POSITIVE_PAIRS = {(0, 1), (2, 3), (2, 4)}
# Hard negative {i, j}: d < max(farthest positive of i, of j). (0, 2): d = 3 < 4 (from 2);
# (1, 2): 1 < 4; (3, 5): 2 < 3 (from 3); (4, 5): 1 < 4; (1, 3): 4, not < 3; (2, 5): 5 > 4.
HARD_NEGATIVE_PAIRS = {(0, 2), (1, 2), (3, 5), (4, 5)}

BATCH_ALL = {
    (0, 1, 2), (0, 1, 3), (0, 1, 4), (0, 1, 5),
    (1, 0, 2), (1, 0, 3), (1, 0, 4), (1, 0, 5),
    (2, 3, 0), (2, 3, 1), (2, 3, 5), (2, 4, 0), (2, 4, 1), (2, 4, 5),
    (3, 2, 0), (3, 2, 1), (3, 2, 5), (3, 4, 0), (3, 4, 1), (3, 4, 5),
    (4, 2, 0), (4, 2, 1), (4, 2, 5), (4, 3, 0), (4, 3, 1), (4, 3, 5),
}  # fmt: skip
BATCH_HARD = {(0, 1, 2), (1, 0, 2), (2, 4, 1), (3, 2, 5), (4, 2, 5)}  # anchor 5 skipped
# Semi-hard, margin 1.5: band d(a,p) < d(a,n) < d(a,p) + 1.5, closest negative in it.
#   (0,1) band (2, 3.5): n=2 (3)     (1,0) band (2, 3.5): none (1, 4, 5, 6)
#   (2,3) band (3, 4.5): none (d(2,0) = 3 is a tie, not inside)
#   (2,4) band (4, 5.5): n=5 (5)     (3,2) band (3, 4.5): n=1 (4)
#   (3,4) band (1, 2.5): n=5 (2)     (4,2) band (4, 5.5): n=1 (5)
#   (4,3) band (1, 2.5): none (d(4,5) = 1 is a tie)
SEMI_HARD_1_5 = {(0, 1, 2), (2, 4, 5), (3, 2, 1), (3, 4, 5), (4, 2, 1)}
# Margin 4.5: several candidates per pair, the closest one wins.
#   (0,1): {2: 3, 3: 6} -> 2     (1,0): {3: 4, 4: 5, 5: 6} -> 3    (2,3): {5: 5} -> 5
#   (2,4): {5: 5} -> 5           (3,2): {1: 4, 0: 6} -> 1          (3,4): {5: 2, 1: 4} -> 5
#   (4,2): {1: 5, 0: 7} -> 1     (4,3): {1: 5} -> 1
SEMI_HARD_4_5 = {
    (0, 1, 2), (1, 0, 3), (2, 3, 5), (2, 4, 5), (3, 2, 1), (3, 4, 5), (4, 2, 1), (4, 3, 1)
}  # fmt: skip


def _set(rows: torch.Tensor) -> set[tuple[int, ...]]:
    as_list = [tuple(r) for r in rows.tolist()]
    assert len(as_list) == len(set(as_list)), "a miner returned duplicates"
    return set(as_list)


@pytest.mark.parametrize(
    ("kind", "positives", "negatives"),
    [
        ("all", ALL_POSITIVE_PAIRS, ALL_NEGATIVE_PAIRS),
        ("hard", HARD_POSITIVE_PAIRS, HARD_NEGATIVE_PAIRS),
    ],
)
def test_mine_pairs_hand_built(kind, positives, negatives):
    pos, neg = mine_pairs(DISTANCES, LABELS, kind)
    assert pos.dtype == neg.dtype == torch.int64
    assert pos.shape[1] == neg.shape[1] == 2
    assert _set(pos) == positives
    assert _set(neg) == negatives
    assert pos.tolist() == [list(p) for p in sorted(positives)]
    assert neg.tolist() == [list(p) for p in sorted(negatives)]


@pytest.mark.parametrize(
    ("kind", "margin", "expected"),
    [
        ("batch_all", 0.2, BATCH_ALL),
        ("batch_hard", 0.2, BATCH_HARD),
        ("semi_hard", 1.5, SEMI_HARD_1_5),
        ("semi_hard", 4.5, SEMI_HARD_4_5),
        ("semi_hard", 0.0, set()),
    ],
)
def test_mine_triplets_hand_built(kind, margin, expected):
    triplets = mine_triplets(DISTANCES, LABELS, kind, margin)
    assert triplets.dtype == torch.int64 and triplets.shape == (len(expected), 3)
    assert _set(triplets) == expected
    assert triplets.tolist() == [list(t) for t in sorted(expected)]  # lexicographic


def test_batch_hard_ties_pick_the_lowest_index():
    d = torch.tensor(
        [
            [0.0, 2.0, 2.0, 1.0, 1.0],
            [2.0, 0.0, 1.0, 3.0, 3.0],
            [2.0, 1.0, 0.0, 3.0, 3.0],
            [1.0, 3.0, 3.0, 0.0, 5.0],
            [1.0, 3.0, 3.0, 5.0, 0.0],
        ]
    )
    labels = torch.tensor([0, 0, 0, 1, 1])
    rows = mine_triplets(d, labels, "batch_hard", 0.1).tolist()
    assert rows[0] == [0, 1, 3]  # positives 1 and 2 tie at 2, negatives 3 and 4 tie at 1


def test_ties_are_not_hard():
    # x = 0, 2, 4 with labels 0, 0, 1: d(0,1) = 2 equals 1's closest negative, d(1,2) = 2
    # equals 1's farthest positive, and for (0, 1) with margin 2 the only negative sits
    # exactly on the band's upper edge d(a,p) + margin = 4 (and for (1, 0) on its lower
    # edge d(a,p) = 2).
    x = torch.tensor([0.0, 2.0, 4.0])
    d = (x[:, None] - x[None, :]).abs()
    labels = torch.tensor([0, 0, 1])
    pos, neg = mine_pairs(d, labels, "hard")
    assert pos.shape == (0, 2) and neg.shape == (0, 2)
    assert mine_triplets(d, labels, "semi_hard", 2.0).shape == (0, 3)
    assert _set(mine_triplets(d, labels, "semi_hard", 2.5)) == {(0, 1, 2)}


def test_no_valid_pairs_or_triplets():
    d = DISTANCES[:3, :3]
    distinct = torch.tensor([0, 1, 2])
    pos, neg = mine_pairs(d, distinct, "hard")  # no positives: no anchor makes a hard negative
    assert pos.shape == (0, 2) and neg.shape == (0, 2)
    pos, neg = mine_pairs(d, distinct, "all")
    assert pos.shape == (0, 2) and _set(neg) == {(0, 1), (0, 2), (1, 2)}
    for kind in ("batch_all", "batch_hard", "semi_hard"):
        assert mine_triplets(d, distinct, kind, 1.0).shape == (0, 3)
        assert mine_triplets(d, torch.zeros(3, dtype=torch.long), kind, 1.0).shape == (0, 3)


def _brute_pairs(d, labels, kind):
    n = len(labels)
    positives, negatives = set(), set()
    for i, j in itertools.combinations(range(n), 2):
        same = labels[i] == labels[j]
        if kind == "all":
            (positives if same else negatives).add((i, j))
            continue
        for a, b in ((i, j), (j, i)):
            neg_d = [d[a][k] for k in range(n) if labels[k] != labels[a]]
            pos_d = [d[a][k] for k in range(n) if k != a and labels[k] == labels[a]]
            if same and neg_d and d[a][b] > min(neg_d):
                positives.add((i, j))
            if not same and pos_d and d[a][b] < max(pos_d):
                negatives.add((i, j))
    return positives, negatives


def _brute_triplets(d, labels, kind, margin):
    n = len(labels)
    out = set()
    for a in range(n):
        pos = [p for p in range(n) if p != a and labels[p] == labels[a]]
        neg = [k for k in range(n) if labels[k] != labels[a]]
        if kind == "batch_hard":
            if pos and neg:
                out.add((a, max(pos, key=lambda p: d[a][p]), min(neg, key=lambda k: d[a][k])))
            continue
        for p in pos:
            if kind == "batch_all":
                out.update((a, p, k) for k in neg)
                continue
            band = [k for k in neg if d[a][p] < d[a][k] < d[a][p] + margin]
            if band:
                out.add((a, p, min(band, key=lambda k: d[a][k])))
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_miners_match_brute_force_on_random_batches(seed, metric):
    g = torch.Generator().manual_seed(seed)
    n = 10 + 3 * seed
    x = torch.randn(n, 4, generator=g)
    labels = torch.randint(0, 3, (n,), generator=g)
    d = pairwise_distance(x, metric)
    d_list, label_list = d.tolist(), labels.tolist()
    margin = float(d.max()) / 4
    for kind in ("all", "hard"):
        pos, neg = mine_pairs(d, labels, kind)
        expected_pos, expected_neg = _brute_pairs(d_list, label_list, kind)
        assert _set(pos) == expected_pos and _set(neg) == expected_neg
    for kind in ("batch_all", "batch_hard", "semi_hard"):
        expected = _brute_triplets(d_list, label_list, kind, margin)
        assert _set(mine_triplets(d, labels, kind, margin)) == expected
    assert len(_brute_triplets(d_list, label_list, "semi_hard", margin)) > 0


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_pairwise_distance_matches_definition(metric):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(7, 5, generator=g) + 3).double()
    got = pairwise_distance(x, metric)
    assert got.dtype == torch.float32
    if metric == "euclidean":
        expected = torch.cdist(x, x)
    else:
        expected = 1 - F.cosine_similarity(x[:, None], x[None], dim=2)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)
    assert (got.diagonal() == 0).all()
    torch.testing.assert_close(got, got.T)


def test_euclidean_gradient_is_finite_when_rows_coincide():
    # Integer rows with an exact mean: the squared distances of rows 0 and 1 (and the
    # diagonal) come out exactly 0, where a bare sqrt has an infinite slope.
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [1.0, 0.0]], requires_grad=True)
    d = pairwise_distance(x, "euclidean")
    assert d[0, 1] <= 1e-6 and d[0, 2].item() == 5.0 and d[0, 3].item() == 1.0
    d.sum().backward()
    assert torch.isfinite(x.grad).all()
    # Row 0 is pushed away from rows 2 and 3 (each pair counted twice); row 1 adds nothing.
    torch.testing.assert_close(x.grad[0], 2 * torch.tensor([-0.6 - 1.0, -0.8 - 0.0]))


def test_low_precision_input_gives_float32_distances():
    x = torch.randn(6, 8).to(torch.bfloat16)
    for metric in ("euclidean", "cosine"):
        d = pairwise_distance(x, metric)
        assert d.dtype == torch.float32 and torch.isfinite(d).all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pairwise_distance(torch.randn(3, 2), "manhattan"), "metric.*'euclidean'"),
        (lambda: pairwise_distance(torch.randn(3), "cosine"), "2-D"),
        (lambda: mine_pairs(DISTANCES, LABELS, "semi_hard"), "kind.*'all', 'hard'.*semi_hard"),
        (lambda: mine_triplets(DISTANCES, LABELS, "hard", 0.1), "kind.*'batch_hard'"),
        (lambda: mine_triplets(DISTANCES, LABELS, "semi_hard", -0.1), "margin"),
        (lambda: mine_pairs(DISTANCES, LABELS[:5], "all"), "labels"),
        (lambda: mine_pairs(DISTANCES, LABELS.float(), "all"), "integer"),
        (lambda: mine_triplets(DISTANCES[:5], LABELS, "batch_all", 0.1), "square"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
