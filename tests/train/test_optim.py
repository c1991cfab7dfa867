"""Optimiser parameter groups and the learning-rate schedule, including fixed-lr groups."""

from __future__ import annotations

import pytest
import torch

from contrastkit.encoders import CompactCNN
from contrastkit.methods import METHODS, Batch
from contrastkit.train.optim import build_optimizer, parameter_groups, set_lr, warmup_cosine


def _simsiam(**kwargs):
    torch.manual_seed(0)
    return METHODS["simsiam"](
        CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=16, **kwargs
    )


def test_groups_split_decay_and_keep_every_parameter_once():
    model = _simsiam(fix_predictor_lr=False)
    groups = parameter_groups(model, 0.01)
    assert len(groups) == 2 and not any(g.get("fixed_lr") for g in groups)
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters() if p.requires_grad)
    for g in groups:
        assert all((p.ndim > 1) == (g["weight_decay"] > 0) for p in g["params"])


def test_simsiam_predictor_keeps_the_base_rate_while_the_rest_decays():
    model = _simsiam()
    optimizer = build_optimizer(model, "sgd", lr=0.2, weight_decay=1e-4)
    predictor = {id(p) for p in model.predictor.parameters()}
    fixed = [g for g in optimizer.param_groups if g.get("fixed_lr")]
    assert {id(p) for g in fixed for p in g["params"]} == predictor
    factor = warmup_cosine(0.75, warmup=0.05)
    scheduled = set_lr(optimizer, 0.2, factor)
    assert scheduled == pytest.approx(0.2 * factor) and factor < 0.5
    for g in optimizer.param_groups:
        assert g["lr"] == pytest.approx(0.2 if g.get("fixed_lr") else 0.2 * factor)


def test_fixed_predictor_lr_changes_only_the_predictor_step():
    """Same start, same batch, late in the schedule: with the fixed rate the predictor
    moves further; the encoder's step is identical."""
    g = torch.Generator().manual_seed(3)
    batch = Batch([torch.randn(8, 1, 12, 12, generator=g) for _ in range(2)])
    moved = {}
    for fix in (False, True):
        model = _simsiam(fix_predictor_lr=fix)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        optimizer = build_optimizer(model, "sgd", lr=0.5, weight_decay=0.0, momentum=0.0)
        set_lr(optimizer, 0.5, 0.1)
        model.training_step(batch).loss.backward()
        optimizer.step()
        moved[fix] = {n: (p.detach() - before[n]).norm() for n, p in model.named_parameters()}
    pred = [n for n in moved[True] if n.startswith("predictor.")]
    enc = [n for n in moved[True] if n.startswith("encoder.")]
    assert pred and enc
    for n in enc:
        torch.testing.assert_close(moved[True][n], moved[False][n])
    ratio = sum(moved[True][n] for n in pred) / sum(moved[False][n] for n in pred)
    assert ratio == pytest.approx(10.0, rel=1e-4)


def test_warmup_then_cosine_to_the_final_ratio():
    assert warmup_cosine(0.0, 0.1) == 0.0
    assert warmup_cosine(0.05, 0.1) == pytest.approx(0.5)
    assert warmup_cosine(0.1, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(0.55, 0.1) == pytest.approx(0.5)
    assert warmup_cosine(1.0, 0.1, final_ratio=0.2) == pytest.approx(0.2)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw", "lars"])
def test_proxy_anchor_proxies_train_at_the_scaled_rate(optimizer):
    torch.manual_seed(0)
    model = METHODS["proxy_anchor"](
        CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=16, num_classes=3
    )
    opt = build_optimizer(model, optimizer, lr=0.1, weight_decay=0.0)
    ids = [id(p) for g in opt.param_groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each once
    set_lr(opt, 0.1, 0.5)
    (proxies,) = [g for g in opt.param_groups if g.get("lr_scale")]
    assert proxies["params"] == [model.loss_fn.proxies]
    assert proxies["lr"] == pytest.approx(0.1 * 0.5 * 100)
    assert {g["lr"] for g in opt.param_groups if not g.get("lr_scale")} == {0.1 * 0.5}
