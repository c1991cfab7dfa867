"""benchmarks/linear_probe.py: its systems solve the same objective."""

from __future__ import annotations

import pytest
import torch

from benchmarks.linear_probe import SYSTEMS


def test_every_system_reaches_the_same_optimum_and_the_patch_is_undone() -> None:
    from contrastkit.evaluate import logistic

    closed_form, cholesky = logistic.objective_and_gradients, logistic._preconditioner
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 30, generator=g), torch.randint(0, 4, (400,), generator=g)
    objectives = [solve(x, y, 4)[2] for solve in SYSTEMS.values()]
    assert len(objectives) == 4
    assert objectives == pytest.approx([objectives[0]] * 4, abs=1e-5)
    assert logistic.objective_and_gradients is closed_form
    assert logistic._preconditioner is cholesky
