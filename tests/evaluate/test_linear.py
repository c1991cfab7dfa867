from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from contrastkit.data import load_fashion_mnist
from contrastkit.evaluate import (
    ClassificationReport,
    ProbeNotConvergedWarning,
    classification_report,
    linear_probe,
)
from contrastkit.evaluate.features import raw_features


def blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(6, 20, generator=torch.Generator().manual_seed(99)) * 6 + 50
    y = torch.randint(0, 6, (n,), generator=g)
    return centres[y] + torch.randn(n, 20, generator=g), y


def test_separable_blobs_are_perfect():
    x, y = blobs(600, 0)
    xt, yt = blobs(300, 1)
    report = linear_probe(x, y, xt, yt)
    assert report.accuracy == 1.0
    assert report.macro_f1 == 1.0
    assert report.confusion.shape == (6, 6)
    assert report.confusion.trace() == 300


def test_deterministic():
    x, y = blobs(300, 2)
    xt, yt = blobs(100, 3)
    x = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(4)) * 8
    first = linear_probe(x, y, xt, yt)
    second = linear_probe(x, y, xt, yt)
    assert first.to_dict() == second.to_dict()


def test_digits_matches_sklearn():
    features, labels = load_digits(return_X_y=True)
    x, xt, y, yt = train_test_split(
        features, labels, test_size=0.3, random_state=0, stratify=labels
    )
    scaler = StandardScaler().fit(x)
    sklearn_model = LogisticRegression(max_iter=2000).fit(scaler.transform(x), y)
    sklearn_acc = sklearn_model.score(scaler.transform(xt), yt)
    report = linear_probe(
        torch.tensor(x, dtype=torch.float32),
        torch.tensor(y),
        torch.tensor(xt, dtype=torch.float32),
        torch.tensor(yt),
    )
    assert report.accuracy >= 0.95
    assert abs(report.accuracy - sklearn_acc) <= 0.01


def test_classification_report_matches_sklearn():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2, 1])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 2, 2])
    report = classification_report(torch.from_numpy(y_true), y_pred, num_classes=5)
    assert isinstance(report, ClassificationReport)
    assert report.accuracy == pytest.approx(5 / 8)
    assert report.macro_precision == pytest.approx(precision_score(y_true, y_pred, average="macro"))
    assert report.macro_recall == pytest.approx(recall_score(y_true, y_pred, average="macro"))
    assert report.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert report.num_classes == 5
    assert report.confusion.dtype == np.int64
    np.testing.assert_array_equal(report.confusion[:3, :3], [[1, 1, 0], [0, 2, 1], [1, 0, 2]])
    assert report.confusion[3:].sum() == 0 and report.confusion[:, 3:].sum() == 0
    record = report.to_dict()
    assert record["confusion"][1] == [0, 2, 1, 0, 0]
    assert set(record) == {"accuracy", "macro_precision", "macro_recall", "macro_f1", "confusion"}


def test_classification_report_validates():
    with pytest.raises(ValueError, match="equal length"):
        classification_report(np.array([0, 1]), np.array([0]), 2)
    with pytest.raises(ValueError, match=r"y_pred must lie in \[0, 2\)"):
        classification_report(np.array([0, 1]), np.array([0, 2]), 2)


def test_probe_validates():
    x, y = blobs(50, 5)
    with pytest.raises(ValueError, match="test_features must be"):
        linear_probe(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="test_labels must be"):
        linear_probe(x, y, x, y[:10])
    with pytest.raises(ValueError, match="train_labels must be"):
        linear_probe(x, y.float(), x, y)
    with pytest.raises(ValueError, match="num_classes must exceed"):
        linear_probe(x, y, x, y, num_classes=3)
    with pytest.raises(ValueError, match="weight_decay must"):
        linear_probe(x, y, x, y, weight_decay=-1.0)
    with pytest.raises(ValueError, match="max_iter must"):
        linear_probe(x, y, x, y, max_iter=0)
    with pytest.raises(ValueError, match="tol must"):
        linear_probe(x, y, x, y, tol=0.0)


# The first 2,000 Fashion-MNIST training images as raw pixels / 255: a weakly regularised
# (C = 1), nearly separable probe. Its optimum, from scikit-learn's
# LogisticRegression(C=1.0, tol=1e-8, max_iter=100000) on the standardised pixels (2,509
# iterations), is f* = mean cross-entropy + ||W||^2 / (2 N) = 0.05555413522580043.
FASHION_2000_OPTIMUM = 0.05555413522580043


def test_the_probe_solves_to_its_tolerance_where_an_iteration_cap_stopped_it_early():
    data = load_fashion_mnist("train")
    x, y = raw_features(data.images[:2400]), data.labels[:2400]
    train, held = (x[:2000], y[:2000]), (x[2000:], y[2000:])

    with pytest.warns(ProbeNotConvergedWarning, match="stopped after 100 L-BFGS iterations"):
        capped = linear_probe(*train, *held, max_iter=100)  # the old cap
    assert not capped.converged and capped.iterations == 100
    assert capped.objective - FASHION_2000_OPTIMUM > 5e-4  # early stopping, not the optimum

    with warnings.catch_warnings():
        warnings.simplefilter("error", ProbeNotConvergedWarning)
        solved = linear_probe(*train, *held)
    assert solved.converged and solved.gradient_max <= solved.tolerance == 1e-5
    assert 100 < solved.iterations < 1000  # the cap (3000) is a safety net
    assert abs(solved.objective - FASHION_2000_OPTIMUM) < 5e-5
    record = solved.to_dict()
    assert record["converged"] is True and record["iterations"] == solved.iterations


def test_the_solver_gradient_is_autograd_gradient_at_its_solution():
    """The solver's closed-form gradient: at the solution it reports, autograd's gradient
    of the same objective is as small as the tolerance and the objective is the same."""
    import torch.nn.functional as F

    from contrastkit.evaluate.logistic import fit_logistic

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 12, generator=g), torch.randint(0, 4, (300,), generator=g)
    fit = fit_logistic(x, y, 4, decay=0.01, tol=1e-5, max_iter=500)
    w, b = fit.weight.double().requires_grad_(), fit.bias.double().requires_grad_()
    f = F.cross_entropy(x.double() @ w + b, y) + 0.005 * w.square().sum()
    f.backward()
    assert fit.converged and 0 < fit.iterations < 500
    assert float(f.detach()) == pytest.approx(fit.objective, abs=1e-6)
    assert max(float(w.grad.abs().max()), float(b.grad.abs().max())) <= 2e-5


def test_closed_form_objective_and_gradients_equal_autograd_on_random_inputs():
    import torch.nn.functional as F

    from contrastkit.evaluate.logistic import objective_and_gradients

    g = torch.Generator().manual_seed(1)
    x, y = (
        torch.randn(50, 7, generator=g, dtype=torch.float64),
        torch.randint(0, 3, (50,), generator=g),
    )
    p = torch.randn(7, 7, generator=g, dtype=torch.float64)  # any matrix, not only symmetric
    u0, b0 = (
        torch.randn(7, 3, generator=g, dtype=torch.float64),
        torch.randn(3, generator=g, dtype=torch.float64),
    )
    f, grad_u, grad_b, grad_w = objective_and_gradients(x, y, p, u0, b0, 0.03)

    u, b = u0.clone().requires_grad_(), b0.clone().requires_grad_()
    w = p @ u
    w.retain_grad()
    ref = F.cross_entropy(x @ w + b, y) + 0.015 * w.square().sum()
    ref.backward()
    torch.testing.assert_close(f, ref.detach())
    torch.testing.assert_close(grad_u, u.grad)
    torch.testing.assert_close(grad_b, b.grad)
    torch.testing.assert_close(grad_w, w.grad)


@pytest.mark.parametrize("rank", [40, 10])  # full rank (Cholesky) and rank-deficient
def test_the_preconditioner_whitens_the_ridged_covariance(rank: int) -> None:
    """P^T (x^T x / N + r I) P = I: what the solve needs of P (the symmetric inverse square
    root it replaced has the same property)."""
    from contrastkit.evaluate.logistic import _preconditioner

    g = torch.Generator().manual_seed(2)
    x = torch.randn(200, rank, generator=g) @ torch.randn(rank, 40, generator=g)
    p = _preconditioner(x, decay=0.01)
    cov = (x.T @ x).double() / len(x)
    ridge = max(0.04, 1e-6 * float(cov.diagonal().mean()))
    whitened = p.T @ (cov + ridge * torch.eye(40, dtype=torch.float64)) @ p
    torch.testing.assert_close(whitened, torch.eye(40, dtype=torch.float64))
    assert p.dtype == torch.float64 and torch.equal(p, p.triu())  # L^(-T): upper triangular


def test_the_preconditioner_falls_back_to_the_spectrum_when_cholesky_fails(monkeypatch):
    from contrastkit.evaluate import logistic

    g = torch.Generator().manual_seed(3)
    x = torch.randn(100, 20, generator=g)
    cholesky = torch.linalg.cholesky_ex
    monkeypatch.setattr(torch.linalg, "cholesky_ex", lambda a: (cholesky(a)[0], torch.tensor(1)))
    p = logistic._preconditioner(x, decay=0.01)
    cov = (x.T @ x).double() / len(x) + 0.04 * torch.eye(20, dtype=torch.float64)
    torch.testing.assert_close(p.T @ cov @ p, torch.eye(20, dtype=torch.float64))
    torch.testing.assert_close(p, p.T)  # the symmetric inverse square root
