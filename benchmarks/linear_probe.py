"""Seconds to solve the linear probe: contrastkit's solver against scikit-learn's
`LogisticRegression` (lbfgs) on the same objective, and against the same solver as it was
before two changes: its gradients from autograd (before they were written in closed form)
and its preconditioner from an eigendecomposition (before the Cholesky factor).

The objective is mean cross-entropy + ||W||^2 / (2 C N) with C = 1 on standardised
features (scikit-learn's `LogisticRegression(C=1)`); every system solves it to
max |gradient| <= 1e-5 (scikit-learn's `tol`, its lbfgs criterion). Rows: the median of
`--repeats` timed solves, the objective reached, and the accuracy on held-out items.

Data (real): raw pixels of 2,979 emoji of the `emoji` set (32x32 RGB, 3,072 features, 9
groups; 676 held out) and of 10,000 Fashion-MNIST training images (784 features, 10
classes; 2,000 further images held out).

Usage: python -m benchmarks.linear_probe [--repeats 3] [--systems A,B] [--output NAME]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from benchmarks.common import print_table, write_results
from contrastkit.evaluate import logistic
from contrastkit.evaluate.features import raw_features

TOL = 1e-5


def data() -> dict[str, tuple[torch.Tensor, ...]]:
    """name -> (x_train, y_train, x_held, y_held), x standardised with the training stats."""
    from contrastkit.data import load_fashion_mnist
    from contrastkit.data.emoji import load_emoji

    emoji = load_emoji(32)
    order = torch.randperm(len(emoji.labels), generator=torch.Generator().manual_seed(0))
    fashion = load_fashion_mnist("train")
    sets = {
        "emoji raw pixels (2,979 x 3,072)": (
            raw_features(emoji.images), emoji.labels, order[:2979], order[2979:]
        ),
        "fashion-mnist raw pixels (10,000 x 784)": (
            raw_features(fashion.images[:12000]), fashion.labels[:12000],
            torch.arange(10000), torch.arange(10000, 12000),
        ),
    }  # fmt: skip
    out = {}
    for name, (x, y, train, held) in sets.items():
        mean, std = x[train].mean(0), x[train].std(0, correction=0).clamp_min(1e-6)
        out[name] = ((x[train] - mean) / std, y[train], (x[held] - mean) / std, y[held])
    return out


def autograd_gradients(x, y, p, u, b, decay):
    """`logistic.objective_and_gradients` as the solver computed it before: autograd's
    backward (x^T @ g and p^T @ g)."""
    with torch.enable_grad():
        u, b = u.detach().requires_grad_(), b.detach().requires_grad_()
        w = p @ u
        w.retain_grad()
        f = F.cross_entropy(torch.addmm(b, x, w), y) + 0.5 * decay * w.square().sum()
        f.backward()
    return f.detach(), u.grad, b.grad, w.grad


def eigh_preconditioner(x, decay):
    """`logistic._preconditioner` as it was: the symmetric (x^T x / N + r I)^(-1/2) from a
    float64 eigendecomposition (eigenvalues of x^T x / N clamped at 0, then the ridge)."""
    cov, ridge = logistic._ridged_covariance(x, decay)
    return logistic._inverse_sqrt(cov, floor=ridge)


def contrastkit_solve(x, y, k, *, autograd: bool = False, eigh: bool = False):
    """(W, b, objective) from `fit_logistic`; `autograd` / `eigh` swap in the gradients /
    the preconditioner it had before (and restore them)."""
    closed_form, cholesky = logistic.objective_and_gradients, logistic._preconditioner
    if autograd:
        logistic.objective_and_gradients = autograd_gradients
    if eigh:
        logistic._preconditioner = eigh_preconditioner
    try:
        fit = logistic.fit_logistic(x, y, k, decay=1 / len(x), tol=TOL, max_iter=100000)
    finally:
        logistic.objective_and_gradients, logistic._preconditioner = closed_form, cholesky
    return fit.weight, fit.bias, fit.objective


def sklearn_solve(x, y, k):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, tol=TOL, max_iter=100000).fit(x.numpy(), y.numpy())
    w = torch.from_numpy(model.coef_.T).float()
    b = torch.from_numpy(model.intercept_).float()
    logits = x.double() @ w.double() + b.double()
    objective = F.cross_entropy(logits, y) + w.double().square().sum() / (2 * len(x))
    return w, b, float(objective)


SYSTEMS: dict[str, Callable] = {
    "contrastkit": contrastkit_solve,
    "contrastkit before: eigh preconditioner": lambda x, y, k: contrastkit_solve(
        x, y, k, eigh=True
    ),
    "contrastkit before: eigh preconditioner + autograd gradients": (
        lambda x, y, k: contrastkit_solve(x, y, k, autograd=True, eigh=True)
    ),
    "scikit-learn LogisticRegression lbfgs": sklearn_solve,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated names")
    parser.add_argument("--output", default="linear_probe", help="benchmarks/results/NAME.json")
    args = parser.parse_args()
    chosen = [n.strip() for n in args.systems.split(",")]
    unknown = [n for n in chosen if n not in SYSTEMS]
    if unknown:
        parser.error(f"unknown --systems {unknown}; known: {list(SYSTEMS)}")
    rows = []
    for name, (x, y, xh, yh) in data().items():
        k = int(y.max()) + 1
        for system in chosen:
            solve = SYSTEMS[system]
            seconds = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                w, b, objective = solve(x, y, k)
                seconds.append(time.perf_counter() - start)
            accuracy = float(((xh @ w + b).argmax(1) == yh).float().mean())
            median = statistics.median(seconds)
            common = {"data": name, "system": system}
            rows += [
                {**common, "metric": "seconds (median)", "value": round(median, 2),
                 "runs": [round(s, 2) for s in seconds]},
                {**common, "metric": "items/s", "value": round(len(x) / median, 1)},
                {**common, "metric": "objective", "value": round(objective, 6)},
                {**common, "metric": "held-out accuracy", "value": round(accuracy, 4)},
            ]  # fmt: skip
            print(f"{name} | {system}: {median:.2f} s, objective {objective:.6f}", flush=True)
    print_table(rows, ["data", "system", "metric", "value"])
    write_results(args.output, rows, torch_threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
