"""NNCLR's support set: first in first out, searched for the positives, untouched by a skipped
step, restored exactly on resume, and its size checked against the batch."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from contrastkit.data import load_digits
from contrastkit.encoders import CompactCNN
from contrastkit.encoders.vision import as_encoder
from contrastkit.errors import ConfigError
from contrastkit.losses import info_nce, nnclr_loss
from contrastkit.methods import NNCLR, Batch
from contrastkit.pipeline.settings import load_config
from contrastkit.train.guards import NonFiniteStepWarning
from contrastkit.train.trainer import Trainer
from contrastkit.views import ImageViews
from tests.train.test_skipped_step import Poisoned


def _mlp(*sizes: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _small(queue_size: int) -> NNCLR:
    """No BatchNorm before the projections, so z of a view depends on that view only."""
    torch.manual_seed(0)
    encoder = as_encoder(_mlp(12, 32, 16), (12,))
    return NNCLR(encoder, head=_mlp(16, 16, 8), queue_size=queue_size, proj_hidden_dim=16,
                 proj_dim=8)  # fmt: skip


def _batches(count: int, n: int = 8) -> list[Batch]:
    g = torch.Generator().manual_seed(5)
    return [Batch([torch.randn(n, 12, generator=g) for _ in range(2)]) for _ in range(count)]


def _z(method: NNCLR, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return F.normalize(method.head(method.encoder(x)), dim=1)


def test_the_support_set_is_a_fifo_of_the_first_views_normalised_projections() -> None:
    method = _small(queue_size=20)
    pushed = []
    for batch in _batches(4):  # 32 rows through a support set of 20: it wraps
        method.training_step(batch).loss.backward()
        assert method.support.filled == min(20, 8 * len(pushed))  # nothing queued yet
        method.on_step_end(0.5)
        pushed.append(_z(method, batch.views[0]))
    support = method.support
    assert support.filled == 20 and int(support.ptr) == 32 % 20
    oldest_first = support.rows.roll(-int(support.ptr), dims=0)
    torch.testing.assert_close(oldest_first, torch.cat(pushed)[-20:])


def test_the_positive_is_the_nearest_neighbour_in_the_rows_written_so_far() -> None:
    method = _small(queue_size=64)
    first, second = _batches(2)
    out = method.training_step(first)  # empty support set: each projection its own positive
    z = [method.head(method.encoder(v)) for v in first.views]
    p = method.predictor(torch.cat(z)).chunk(2)  # one BatchNorm batch, as in the step
    want = (info_nce(z[0].detach(), p[1], temperature=0.1)
            + info_nce(z[1].detach(), p[0], temperature=0.1)) / 2  # fmt: skip
    torch.testing.assert_close(out.loss, want)
    method.on_step_end(0.5)

    out = method.training_step(second)  # 8 rows written, 56 still empty: only the 8 count
    z = [method.head(method.encoder(v)) for v in second.views]
    p = method.predictor(torch.cat(z)).chunk(2)  # one BatchNorm batch, as in the step
    support = method.support.rows[:8]
    want = nnclr_loss(z[0], z[1], p_a=p[0], p_b=p[1], support=support, temperature=0.1)
    torch.testing.assert_close(out.loss, want)
    without = nnclr_loss(z[0], z[1], p_a=p[0], p_b=p[1], support=support[:0], temperature=0.1)
    assert not torch.allclose(out.loss, without)  # the neighbours changed the loss


def _method(queue_size: int) -> NNCLR:
    torch.manual_seed(0)
    return NNCLR(CompactCNN(1, widths=(8, 16)), queue_size=queue_size, proj_hidden_dim=32,
                 proj_dim=16)  # fmt: skip


def test_a_skipped_step_queues_nothing(tmp_path) -> None:
    source = Poisoned(poison=4)
    trainer = Trainer(_method(256), optimizer="sgd", lr=0.05, warmup=0.0, batch_size=16,
                      steps=7, precision="fp32", progress=False, run_dir=tmp_path,
                      checkpoint_every=100, log_every=1)  # fmt: skip
    source.trainer = trainer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteStepWarning)
        result = trainer.fit(source)
    assert result.skipped_steps == 1
    support = trainer.method.support
    before, after = (source.states[k]["state"] for k in ("before", "after"))
    for key in ("support.rows", "support.ptr", "support.count"):
        assert torch.equal(before[key], after[key]), key
    assert support.filled == int(support.ptr) == 6 * 16  # 6 applied steps of 16 rows
    assert torch.isfinite(support.features()).all()


def _trainer(run_dir) -> Trainer:
    views = ImageViews.simclr(size=8, blur_p=0, jitter_p=0.8)
    return Trainer(_method(80), views, optimizer="sgd", lr=0.05, batch_size=32, steps=6,
                   precision="fp32", run_dir=run_dir, checkpoint_every=3, progress=False,
                   log_every=1)  # fmt: skip


def test_resume_restores_a_wrapped_support_set_exactly(tmp_path) -> None:
    data = load_digits("train")
    straight = _trainer(tmp_path / "a")
    straight.fit(data)
    first = _trainer(tmp_path / "b")
    first.fit(data, stop_at_step=3)
    assert int(first.method.support.ptr) == 96 % 80  # wrapped before the checkpoint
    second = _trainer(tmp_path / "b")
    torch.manual_seed(123)
    second.fit(data, resume=True)
    a, b = straight.method.state_dict(), second.method.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert int(b["support.ptr"]) == 192 % 80 and int(b["support.count"]) == 80


def test_queue_size_is_checked_against_the_batch() -> None:
    base = {"data.dataset": "digits", "train.steps": 3, "method.name": "nnclr"}
    assert load_config(None, {**base, "train.batch_size": 64, "method.queue_size": 64})
    with pytest.raises(ConfigError, match=r"'method.queue_size'.*at least the batch size 64"):
        load_config(None, {**base, "train.batch_size": 64, "method.queue_size": 32})
    with pytest.raises(ConfigError, match=r"'method.queue_size'.*>= 1"):
        load_config(None, {**base, "method.queue_size": 0})
    with pytest.raises(ConfigError, match=r"'method.temperature'"):
        load_config(None, {**base, "method.temperature": -0.1})
    with pytest.raises(ValueError, match="queue_size must be at least the batch size 8"):
        _small(queue_size=4).training_step(_batches(1)[0])  # the Python API, at the first step
