"""Every registered method: a step gives a finite loss and gradients, state resumes exactly."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data import load_digits
from contrastkit.encoders import CompactCNN
from contrastkit.methods import METHODS, Batch
from contrastkit.train.trainer import Trainer
from contrastkit.views import ImageViews

# Small settings so that a step on a toy batch is meaningful.
SMALL = {
    "moco": {"queue_size": 64},
    "nnclr": {"queue_size": 64},
    "swav": {"n_prototypes": 10, "queue_size": 32, "freeze_prototypes_steps": 2},
    "supcon": {},
    "multi_similarity": {"memory_size": 64},  # with its cross-batch memory
    "proxy_anchor": {"num_classes": 10},
}
NAMES = sorted(n for n, c in METHODS.items() if c.towers == 1 and c.modalities is None)  # images


def _method(name: str, **extra):
    torch.manual_seed(0)
    kwargs = {**SMALL.get(name, {}), **extra}
    return METHODS[name](CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=16, **kwargs)


def _batch(n: int = 8, views: int = 2) -> Batch:
    g = torch.Generator().manual_seed(1)
    return Batch(
        [torch.randn(n, 1, 12, 12, generator=g) for _ in range(views)],
        labels=torch.arange(n) % 3,
        index=torch.arange(n),
    )


@pytest.mark.parametrize("name", NAMES)
def test_step_gives_finite_loss_gradients_and_embeddings(name):
    method = _method(name)
    method.train()
    out = method.training_step(_batch())
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert out.metrics["loss"] == pytest.approx(float(out.loss.detach()))
    out.loss.backward()
    grads = [p.grad for p in method.encoder.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    h1, h2 = out.embeddings
    assert h1.shape == h2.shape == (8, method.encoder.output_dim)
    for p in method.parameters():
        if not p.requires_grad:
            assert p.grad is None  # momentum copies are never trained


@pytest.mark.parametrize("name", NAMES)
def test_summary_and_one_view_rejected(name):
    cls = METHODS[name]
    assert cls.summary and cls.name == name
    with pytest.raises(ValueError, match="views"):
        _method(name).training_step(_batch(views=1))


@pytest.mark.parametrize("name", [n for n in NAMES if METHODS[n].needs_labels])
def test_supervised_methods_need_labels(name):
    batch = _batch()
    batch.labels = None
    with pytest.raises(ValueError, match="labels"):
        _method(name).training_step(batch)


def _trainer(name, run_dir) -> Trainer:
    views = ImageViews.simclr(size=8, blur_p=0, jitter_p=0.8)
    return Trainer(
        _method(name),
        views,
        optimizer="sgd",
        lr=0.05,
        batch_size=32,
        steps=6,
        precision="fp32",
        run_dir=run_dir,
        checkpoint_every=3,
        progress=False,
        log_every=1,
    )


@pytest.mark.parametrize("name", NAMES)
def test_resume_restores_every_state_exactly(tmp_path, name):
    """Momentum encoders, queues, step counters: 6 steps == 3 steps, stop, resume, 3."""
    data = load_digits("train")
    straight = _trainer(name, tmp_path / "a")
    straight.fit(data)
    first = _trainer(name, tmp_path / "b")
    first.fit(data, stop_at_step=3)
    second = _trainer(name, tmp_path / "b")
    second.fit(data, resume=True)
    a, b = straight.method.state_dict(), second.method.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{name}: {key}"
    assert vars(straight.method).get("momentum") == vars(second.method).get("momentum")


_RUNNING = {"running_mean", "running_var", "num_batches_tracked"}  # written by BatchNorm


@pytest.mark.parametrize("name", NAMES)
def test_training_step_leaves_the_method_state_to_on_step_end(name):
    """The contract a skipped step relies on (contrastkit.train.rollback): a step and its
    backward write no state but normalisation statistics; queues, momentum networks and
    counters change in on_step_end only."""
    method = _method(name)
    method.train()
    before = {k: v.clone() for k, v in method.state_dict().items()}
    method.training_step(_batch()).loss.backward()
    after = method.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert all(k.rsplit(".", 1)[1] in _RUNNING for k in changed), f"{name}: {changed}"
    method.on_step_end(0.5)
    if name in ("moco", "swav", "nnclr", "multi_similarity"):  # and on_step_end writes the queues
        assert any(k.endswith(".rows") and not torch.equal(before[k], v)
                   for k, v in method.state_dict().items())  # fmt: skip
