"""Contrastive and triplet losses against slow float64 references looping over pairs and
triplets (value and gradient), plus closed forms and argument checks."""

from __future__ import annotations

import itertools

import pytest
import torch

from contrastkit.losses.metric import (
    ContrastiveLoss,
    TripletLoss,
    contrastive_loss,
    instance_labels,
    triplet_loss,
)

METRICS = ["euclidean", "cosine"]
PAIR_MINERS = ["all", "hard"]
TRIPLET_MINERS = ["batch_all", "batch_hard", "semi_hard"]


def _distance(x, i, j, metric):
    if metric == "euclidean":
        return (x[i] - x[j]).norm()
    return 1 - x[i] @ x[j] / (x[i].norm() * x[j].norm())


def _distances(x, metric):
    n = x.shape[0]
    zero = x.new_zeros(())
    return [[_distance(x, i, j, metric) if i != j else zero for j in range(n)] for i in range(n)]


def reference_contrastive(x, labels, margin, metric, miner):
    """Hadsell et al.: mean d^2 over positive pairs + mean relu(m - d)^2 over negative pairs."""
    labels = labels.tolist()
    n = len(labels)
    d = _distances(x, metric)
    v = [[e.item() for e in row] for row in d]
    pos_terms, neg_terms = [], []
    for i, j in itertools.combinations(range(n), 2):
        same = labels[i] == labels[j]
        if miner == "hard":
            closest_neg, farthest_pos = float("inf"), float("-inf")
            for a in (i, j):
                for k in range(n):
                    if labels[k] != labels[a]:
                        closest_neg = min(closest_neg, v[a][k])
                    elif k != a:
                        farthest_pos = max(farthest_pos, v[a][k])
            # hard from either end: farther than either end's closest negative, resp.
            # closer than either end's farthest positive
            if same and not v[i][j] > closest_neg:
                continue
            if not same and not v[i][j] < farthest_pos:
                continue
        if same:
            pos_terms.append(d[i][j] ** 2)
        else:
            neg_terms.append(torch.clamp(margin - d[i][j], min=0) ** 2)
    loss = x.sum() * 0
    for terms in (pos_terms, neg_terms):
        if terms:
            loss = loss + sum(terms) / len(terms)
    return loss


def reference_triplet(x, labels, margin, metric, miner):
    """Mined triplets' relu(d(a,p) - d(a,n) + margin); batch_all averages the non-zero ones."""
    labels = labels.tolist()
    n = len(labels)
    d = _distances(x, metric)
    v = [[e.item() for e in row] for row in d]
    triplets = []
    for a in range(n):
        positives = [p for p in range(n) if p != a and labels[p] == labels[a]]
        negatives = [k for k in range(n) if labels[k] != labels[a]]
        if miner == "batch_hard":
            if positives and negatives:
                p = max(positives, key=lambda p: v[a][p])
                triplets.append((a, p, min(negatives, key=lambda k: v[a][k])))
            continue
        for p in positives:
            if miner == "batch_all":
                triplets += [(a, p, k) for k in negatives]
                continue
            band = [k for k in negatives if v[a][p] < v[a][k] < v[a][p] + margin]
            if band:
                triplets.append((a, p, min(band, key=lambda k: v[a][k])))
    losses = [torch.clamp(d[a][p] - d[a][k] + margin, min=0) for a, p, k in triplets]
    if miner == "batch_all":
        losses = [term for term in losses if term > 0]
    return sum(losses) / len(losses) if losses else x.sum() * 0


def _batch(seed, n=12, dim=5, classes=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    return x, labels


def _check_against(ours_fn, ref_fn, x, labels, *args):
    x32 = x.clone().requires_grad_()
    x64 = x.double().requires_grad_()
    ours = ours_fn(x32, labels, *args)
    ref = ref_fn(x64, labels, *args)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours.double(), ref.detach(), rtol=1e-5, atol=1e-6)
    (g_ours,) = torch.autograd.grad(ours, x32)
    (g_ref,) = torch.autograd.grad(ref, x64, allow_unused=True, materialize_grads=True)
    torch.testing.assert_close(g_ours.double(), g_ref, rtol=1e-4, atol=1e-5)
    return ref.item()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("miner", PAIR_MINERS)
def test_contrastive_loss_matches_reference(seed, metric, miner):
    x, labels = _batch(seed)
    margin = 2.5 if metric == "euclidean" else 0.9  # some negatives inside, some outside
    value = _check_against(
        contrastive_loss, reference_contrastive, x, labels, margin, metric, miner
    )
    assert value > 0


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("miner", TRIPLET_MINERS)
def test_triplet_loss_matches_reference(seed, metric, miner):
    x, labels = _batch(seed)
    margin = 1.0 if metric == "euclidean" else 0.3
    value = _check_against(triplet_loss, reference_triplet, x, labels, margin, metric, miner)
    assert value > 0


def test_batch_all_averages_only_active_triplets():
    # On a line, d = |x_i - x_j|; margin 1. The 8 valid triplets and their losses:
    #   (0,1,2): 1 - 1.5 + 1 = 0.5     (0,1,3): 1 - 10 + 1 < 0
    #   (1,0,2): 1 - 0.5 + 1 = 1.5     (1,0,3): 1 - 9 + 1 < 0
    #   (2,3,0): 8.5 - 1.5 + 1 = 8     (2,3,1): 8.5 - 0.5 + 1 = 9
    #   (3,2,0): 8.5 - 10 + 1 < 0      (3,2,1): 8.5 - 9 + 1 = 0.5
    # The mean is over the 5 active ones, not all 8.
    x = torch.tensor([[0.0], [1.0], [1.5], [10.0]])
    labels = torch.tensor([0, 0, 1, 1])
    expected = (0.5 + 1.5 + 8 + 9 + 0.5) / 5
    got = triplet_loss(x, labels, 1.0, "euclidean", "batch_all")
    torch.testing.assert_close(got, torch.tensor(expected), rtol=1e-5, atol=1e-5)


def test_batch_hard_closed_form_on_a_line():
    # The miners' hand-built batch: batch-hard triplets (0,1,2), (1,0,2), (2,4,1), (3,2,5),
    # (4,2,5) with d(a,p) - d(a,n) = -1, 1, 3, 1, 3; margin 1.5.
    x = torch.tensor([[0.0], [2.0], [3.0], [6.0], [7.0], [8.0]])
    labels = torch.tensor([0, 0, 1, 1, 1, 2])
    expected = (0.5 + 2.5 + 4.5 + 2.5 + 4.5) / 5
    got = triplet_loss(x, labels, 1.5, "euclidean", "batch_hard")
    torch.testing.assert_close(got, torch.tensor(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", METRICS)
def test_well_separated_classes_cost_nothing(metric):
    # Every class on its own axis, all rows of a class identical: d(a, p) = 0, and
    # d(a, n) = 1 (cosine) or 10 * sqrt(2) (euclidean), beyond every margin used.
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3])
    x = (10 * torch.eye(4)[labels]).requires_grad_()
    for miner in TRIPLET_MINERS:
        loss = triplet_loss(x, labels, 0.5, metric, miner)
        torch.testing.assert_close(loss, torch.tensor(0.0))
    for miner in PAIR_MINERS:
        loss = contrastive_loss(x, labels, 0.9, metric, miner)
        torch.testing.assert_close(loss, torch.tensor(0.0), rtol=0, atol=1e-10)
    (grad,) = torch.autograd.grad(triplet_loss(x, labels, 0.5, metric, "batch_hard"), x)
    assert (grad == 0).all()


def test_collapsed_embeddings_closed_forms():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    x = torch.ones(6, 3)
    margin = 0.3
    for miner in PAIR_MINERS:  # every positive pair is "hard" against negatives at d = 0^+
        expected = margin**2 if miner == "all" else 0.0
        got = contrastive_loss(x, labels, margin, "euclidean", miner)
        torch.testing.assert_close(got, torch.tensor(expected), rtol=1e-4, atol=1e-5)
    for miner, expected in [("batch_all", margin), ("batch_hard", margin), ("semi_hard", 0.0)]:
        got = triplet_loss(x, labels, margin, "euclidean", miner)
        torch.testing.assert_close(got, torch.tensor(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", METRICS)
def test_gradient_is_finite_when_embeddings_coincide(metric):
    x, labels = _batch(7, n=8)
    x[3] = x[0]  # same point, labels may or may not agree
    x[5] = x[1]
    labels[5] = labels[1]
    x.requires_grad_()
    for miner in PAIR_MINERS:
        (grad,) = torch.autograd.grad(contrastive_loss(x, labels, 1.0, metric, miner), x)
        assert torch.isfinite(grad).all()
    for miner in TRIPLET_MINERS:
        (grad,) = torch.autograd.grad(triplet_loss(x, labels, 1.0, metric, miner), x)
        assert torch.isfinite(grad).all()


def test_missing_pairs_or_triplets_give_zero_with_a_graph():
    x = torch.randn(4, 3, requires_grad=True)
    distinct = torch.tensor([0, 1, 2, 3])
    same = torch.zeros(4, dtype=torch.long)
    # No positive pair: only the negative term remains.
    only_neg = contrastive_loss(x, distinct, 10.0, "euclidean", "all")
    d = torch.cdist(x.detach(), x.detach())
    expected = sum((10 - d[i, j]) ** 2 for i, j in itertools.combinations(range(4), 2)) / 6
    torch.testing.assert_close(only_neg, expected, rtol=1e-4, atol=1e-4)
    for loss in (
        contrastive_loss(x, same, 0.5, "cosine", "hard"),  # nothing hard without negatives
        triplet_loss(x, distinct, 0.5, "cosine", "batch_hard"),
        triplet_loss(x, same, 0.5, "euclidean", "batch_all"),
    ):
        assert loss.item() == 0 and loss.requires_grad
        (grad,) = torch.autograd.grad(loss, x)
        assert (grad == 0).all()


def test_low_precision_inputs():
    x, labels = _batch(3, n=16, dim=8)
    for metric in METRICS:
        ours = triplet_loss(x.bfloat16(), labels, 0.3, metric, "batch_all")
        ref = reference_triplet(x.bfloat16().double(), labels, 0.3, metric, "batch_all")
        assert ours.dtype == torch.float32
        torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=1e-4)


def test_instance_labels():
    assert instance_labels(3, 2).tolist() == [0, 1, 2, 0, 1, 2]
    assert instance_labels(1, 3).tolist() == [0, 0, 0]
    assert instance_labels(4, 1).dtype == torch.int64
    # Two views of 4 items: each row's only positive is the other view of its item.
    z = torch.randn(8, 5)
    torch.testing.assert_close(
        triplet_loss(z, instance_labels(4, 2), 0.2, "cosine", "batch_all"),
        reference_triplet(z.double(), instance_labels(4, 2), 0.2, "cosine", "batch_all").float(),
    )


def test_modules_equal_functions():
    x, labels = _batch(5)
    torch.testing.assert_close(
        ContrastiveLoss(0.7, "euclidean", "hard")(x, labels),
        contrastive_loss(x, labels, 0.7, "euclidean", "hard"),
    )
    torch.testing.assert_close(
        TripletLoss(0.1, "cosine", "semi_hard")(x, labels),
        triplet_loss(x, labels, 0.1, "cosine", "semi_hard"),
    )


TINY = (torch.zeros(2, 2), torch.tensor([0, 1]))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: contrastive_loss(*TINY, 0.5, "l1", "all"), "metric.*'euclidean', 'cosine'"),
        (lambda: contrastive_loss(*TINY, 0.5, "cosine", "batch_hard"), "miner.*'all', 'hard'"),
        (lambda: contrastive_loss(*TINY, -0.1, "cosine", "all"), "margin.*-0.1"),
        (lambda: triplet_loss(*TINY, 0.2, "dot", "batch_hard"), "metric"),
        (lambda: triplet_loss(*TINY, 0.2, "cosine", "hard"), "miner.*'batch_all'.*'hard'"),
        (lambda: triplet_loss(*TINY, -1.0, "cosine", "batch_all"), "margin"),
        (lambda: triplet_loss(torch.zeros(2), torch.tensor([0, 1])), "2-D"),
        (lambda: triplet_loss(torch.zeros(3, 2), torch.tensor([0, 1])), "labels"),
        (lambda: ContrastiveLoss(miner="semi_hard"), "miner"),
        (lambda: TripletLoss(metric="hamming"), "metric"),
        (lambda: instance_labels(0, 2), "n must"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("metric", METRICS)
def test_tiny_valid_inputs_do_not_fail(metric):
    # contrastkit.methods.metric validates its settings with exactly this call.
    for miner in PAIR_MINERS:
        assert torch.isfinite(contrastive_loss(*TINY, 0.5, metric, miner))
    for miner in TRIPLET_MINERS:
        assert torch.isfinite(triplet_loss(*TINY, 0.2, metric, miner))
