"""Fixtures shared by the test folders."""

from __future__ import annotations

import pytest
import torch

_THREADS = torch.get_num_threads()  # the process's intra-op threads when the session starts


@pytest.fixture(autouse=True)
def _same_threads_for_every_test():
    """Every test starts with the session's thread count, whatever an earlier test left:
    the learning tests' numbers (and thresholds) depend on the reduction order it sets."""
    torch.set_num_threads(_THREADS)
    yield


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
