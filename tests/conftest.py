"""Fixtures shared by the test folders."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """One intra-op thread: on a shared 2-core machine two threads contend badly."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory):
    """`tiny_runs(kind, evaluated=False) -> (run folder, data)`: tiny finished runs of
    `tests.helpers.tiny_runs.RUNS`, trained once per session and shared."""
    from tests.helpers.tiny_runs import tiny_run

    root = tmp_path_factory.mktemp("tiny-runs")
    made: dict[str, tuple] = {}

    def get(kind: str, evaluated: bool = False):
        if kind not in made:
            made[kind] = tiny_run(kind, root / kind, evaluated=evaluated)
        elif evaluated and not (made[kind][0] / "eval.json").is_file():
            from contrastkit.pipeline.evaluate_run import evaluate

            evaluate(made[kind][0], device="cpu")
        return made[kind]

    return get
