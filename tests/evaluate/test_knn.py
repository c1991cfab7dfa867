from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from contrastkit.evaluate import knn_accuracy, knn_predict


def reference_knn(
    train: torch.Tensor,
    labels: torch.Tensor,
    test: torch.Tensor,
    k: int,
    temperature: float,
    num_classes: int,
    metric: str = "cosine",
    weighting: str = "exp",
) -> list[int]:
    """Slow, obvious weighted kNN: one test row at a time, float64, Python loops."""
    train64, test64 = train.double().tolist(), test.double().tolist()
    predictions = []
    for query in test64:
        sims = []
        for row in train64:
            if metric == "cosine":
                dot = sum(a * b for a, b in zip(query, row, strict=True))
                norm = math.sqrt(sum(a * a for a in query)) * math.sqrt(sum(b * b for b in row))
                sims.append(dot / norm)
            else:
                sims.append(-math.sqrt(sum((a - b) ** 2 for a, b in zip(query, row, strict=True))))
        order = sorted(range(len(sims)), key=lambda i: -sims[i])[: min(k, len(sims))]
        scores = [0.0] * num_classes
        for i in order:
            weight = math.exp(sims[i] / temperature) if weighting == "exp" else 1.0
            scores[int(labels[i])] += weight
        predictions.append(max(range(num_classes), key=lambda c: (scores[c], -c)))
    return predictions


@pytest.fixture
def data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(60, 8, generator=g),
        torch.randint(0, 4, (60,), generator=g),
        torch.randn(25, 8, generator=g),
    )


@pytest.mark.parametrize("k", [1, 5, 20, 60, 200])
@pytest.mark.parametrize("temperature", [0.07, 0.5, 2.0])
def test_matches_reference(data, k, temperature):
    train, labels, test = data
    expected = reference_knn(train, labels, test, k, temperature, 4)
    got = knn_predict(train, labels, test, k=k, temperature=temperature)
    assert got.dtype == torch.int64 and got.shape == (25,)
    assert got.tolist() == expected


@pytest.mark.parametrize("weighting", ["exp", "uniform"])
@pytest.mark.parametrize("k", [3, 10])
def test_l2_matches_reference(data, weighting, k):
    train, labels, test = data
    expected = reference_knn(train, labels, test, k, 1.0, 4, metric="l2", weighting=weighting)
    got = knn_predict(train, labels, test, k=k, temperature=1.0, metric="l2", weighting=weighting)
    assert got.tolist() == expected


def test_l2_uniform_is_classic_knn(data):
    train, labels, test = data
    classic = KNeighborsClassifier(n_neighbors=7).fit(train.numpy(), labels.numpy())
    got = knn_predict(train, labels, test, k=7, metric="l2", weighting="uniform")
    np.testing.assert_array_equal(got.numpy(), classic.predict(test.numpy()))


def test_hand_built_weighting_decides():
    # One very similar class-0 neighbour against two moderately similar class-1 neighbours.
    train = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8], [-1.0, 0.0]])
    labels = torch.tensor([0, 1, 1, 2])
    query = torch.tensor([[2.0, 0.0]])  # scale does not matter for cosine
    assert knn_predict(train, labels, query, k=3, temperature=0.1).tolist() == [0]
    assert knn_predict(train, labels, query, k=3, temperature=100.0).tolist() == [1]
    assert knn_predict(train, labels, query, k=3, weighting="uniform").tolist() == [1]
    assert knn_predict(train, labels, query, k=1).tolist() == [0]
    # k above N uses every row: the class-2 vote is too weak to win.
    assert knn_predict(train, labels, query, k=50, temperature=0.1).tolist() == [0]


def test_tiny_temperature_does_not_overflow(data):
    train, labels, test = data
    # exp(sim / 1e-4) overflows float32; the weights must still pick the nearest neighbour.
    got = knn_predict(train, labels, test, k=10, temperature=1e-4)
    nearest = knn_predict(train, labels, test, k=1)
    assert torch.equal(got, nearest)


@pytest.mark.parametrize("batch_size", [1, 7, 25, 1000])
def test_chunking_does_not_change_result(data, batch_size):
    train, labels, test = data
    whole = knn_predict(train, labels, test, k=9, batch_size=10_000)
    assert torch.equal(knn_predict(train, labels, test, k=9, batch_size=batch_size), whole)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_dtypes(data, dtype):
    train, labels, test = data
    got = knn_predict(train.to(dtype), labels, test.to(dtype), k=1)
    assert got.dtype == torch.int64 and got.shape == (25,)


def test_accuracy_and_num_classes(data):
    train, labels, test = data
    preds = knn_predict(train, labels, test, k=5, num_classes=10)
    assert int(preds.max()) < 4  # classes without training rows are never predicted
    assert knn_accuracy(train, labels, train, labels, k=1) == 1.0
    expected = (preds == labels[:25]).double().mean().item()
    assert knn_accuracy(train, labels, test, labels[:25], k=5) == pytest.approx(expected)


def test_separable_clusters_are_classified():
    g = torch.Generator().manual_seed(1)
    centres = torch.randn(5, 32, generator=g) * 5
    y = torch.randint(0, 5, (500,), generator=g)
    x = centres[y] + torch.randn(500, 32, generator=g)
    assert knn_accuracy(x[:400], y[:400], x[400:], y[400:], k=20) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, "k must"),
        ({"k": 2.5}, "k must"),
        ({"temperature": 0.0}, "temperature must"),
        ({"temperature": -1.0}, "temperature must"),
        ({"batch_size": 0}, "batch_size must"),
        ({"num_classes": 2}, "num_classes must"),
        ({"metric": "dot"}, "metric must"),
        ({"weighting": "linear"}, "weighting must"),
    ],
)
def test_invalid_options(data, kwargs, match):
    train, labels, test = data
    with pytest.raises(ValueError, match=match):
        knn_predict(train, labels, test, **kwargs)


def test_invalid_shapes(data):
    train, labels, test = data
    with pytest.raises(ValueError, match="test_features has dimension 7"):
        knn_predict(train, labels, test[:, :7])
    with pytest.raises(ValueError, match="train_labels must have shape"):
        knn_predict(train, labels[:10], test)
    with pytest.raises(ValueError, match="train_labels must hold integer"):
        knn_predict(train, labels.float(), test)
    with pytest.raises(ValueError, match="train_labels must be >= 0"):
        knn_predict(train, labels - 1, test)
    with pytest.raises(ValueError, match="test_labels must have shape"):
        knn_accuracy(train, labels, test, labels)
