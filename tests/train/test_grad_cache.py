"""Gradient caching: the same loss and gradients as the uncached step (networks without
batch statistics), dropout replayed exactly, the trainer's cached steps equal its plain
steps, and methods that cannot be cached are refused."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.encoders.vision import as_encoder
from contrastkit.methods import BYOL, SimCLR, SupCon
from contrastkit.methods.base import Batch
from contrastkit.train.grad_cache import cached_step, plain_chunked_loss
from contrastkit.train.trainer import Trainer
from tests.helpers.sources import NoisyPairs


def _mlp(dropout: float = 0.0) -> nn.Module:
    net = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 16))
    return as_encoder(net, (12,))


def _head() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 8))


def _grads(method: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() for p in method.parameters() if p.grad is not None]


def _views(n: int, v: int = 2, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 12, generator=g) for _ in range(v)]


@pytest.mark.parametrize(("n", "chunk"), [(16, 4), (30, 7), (9, 9), (10, 1)])
def test_cached_simclr_equals_the_uncached_step(n: int, chunk: int) -> None:
    torch.manual_seed(0)
    method = SimCLR(_mlp(), head=_head(), temperature=0.2)
    batch = Batch(views=_views(n, v=3))
    loss = method.training_step(batch).loss
    loss.backward()
    want = _grads(method)
    method.zero_grad()
    out = cached_step(method, batch, chunk)
    assert out.backward_done
    torch.testing.assert_close(out.loss, loss.detach(), rtol=1e-5, atol=1e-6)
    for got, ref in zip(_grads(method), want, strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)


def test_cached_supcon_uses_the_whole_batch_labels() -> None:
    torch.manual_seed(1)
    method = SupCon(_mlp(), head=_head(), temperature=0.1)
    batch = Batch(views=_views(12), labels=torch.arange(12) % 3)
    method.training_step(batch).loss.backward()
    want = _grads(method)
    method.zero_grad()
    cached_step(method, batch, 5)
    for got, ref in zip(_grads(method), want, strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)


def test_dropout_masks_are_replayed() -> None:
    torch.manual_seed(2)
    method = SimCLR(_mlp(dropout=0.3), head=torch.nn.Identity(), temperature=0.05)
    method.train()
    x = torch.randn(20, 12)
    batch = Batch(views=[x, x])
    torch.manual_seed(7)
    loss = plain_chunked_loss(method, batch, 6)
    loss.backward()
    want = _grads(method)
    method.zero_grad()
    torch.manual_seed(7)
    out = cached_step(method, batch, 6)
    torch.testing.assert_close(out.loss, loss.detach(), rtol=1e-5, atol=1e-6)
    for got, ref in zip(_grads(method), want, strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)
    # with another random state the dropout masks, and so the gradients, differ
    method.zero_grad()
    torch.manual_seed(8)
    cached_step(method, batch, 6)
    assert any(not torch.allclose(g, r) for g, r in zip(_grads(method), want, strict=True))


def _train(chunk: int | None) -> list[torch.Tensor]:
    torch.manual_seed(4)
    method = SimCLR(_mlp(), head=_head(), temperature=0.2)
    trainer = Trainer(method, optimizer="sgd", lr=0.1, batch_size=32, steps=4,
                      precision="fp32", progress=False, grad_cache_chunk=chunk)  # fmt: skip
    trainer.fit(NoisyPairs())
    return [p.detach().clone() for p in method.parameters()]


def test_trainer_with_grad_cache_ends_with_the_same_weights() -> None:
    pytest.importorskip("contrastkit.train.batches")
    plain, cached = _train(None), _train(8)
    for a, b in zip(plain, cached, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_methods_without_a_per_item_loss_are_refused() -> None:
    method = BYOL(_mlp())
    assert not BYOL.supports_grad_cache() and SimCLR.supports_grad_cache()
    with pytest.raises(ValueError, match="cannot use gradient caching"):
        cached_step(method, Batch(views=_views(8)), 4)
    with pytest.raises(ValueError, match="cannot use gradient caching"):
        Trainer(method, steps=1, grad_cache_chunk=4)
    with pytest.raises(ValueError, match="chunk_size"):
        cached_step(SimCLR(_mlp(), head=_head()), Batch(views=_views(8)), 0)


def test_grad_cache_for_a_method_that_cannot_is_rejected_before_training(tmp_path) -> None:
    from contrastkit.errors import ConfigError
    from contrastkit.pipeline.settings import load_config

    settings = {"data.dataset": "digits", "method.name": "byol", "train.steps": 1,
                "train.grad_cache_chunk": 16}  # fmt: skip
    with pytest.raises(ConfigError, match=r"grad_cache_chunk.*simclr"):
        load_config(None, settings)  # when the config is read, before any data


def test_a_digits_run_with_grad_cache_trains(tmp_path) -> None:
    from contrastkit.pipeline.settings import load_config
    from contrastkit.pipeline.train_run import train

    cfg = load_config(None, {"data.dataset": "digits", "train.steps": 3, "train.batch_size": 64,
                             "train.grad_cache_chunk": 16, "data.holdout": 100,
                             "data.monitor_bank": 200, "train.monitor_every": 0})  # fmt: skip
    result, _ = train(cfg, run_dir=tmp_path / "r", progress=False)
    assert result.steps == 3 and torch.isfinite(torch.tensor(result.final_loss))


def test_cached_text_step_replays_transformer_dropout() -> None:
    pytest.importorskip("transformers")
    from contrastkit.encoders.text import TextEncoder

    words = ["tool", "library", "image", "text", "audio"]
    words += ["graph", "table", "search", "index", "cluster"]
    corpus = [
        " ".join(words[(i * 3 + j) % len(words)] for j in range(4 + i % 3)) for i in range(40)
    ]
    encoder = TextEncoder.from_scratch(corpus, vocab_size=200, dim=32, layers=1, heads=2,
                                       max_length=16, seed=0)  # fmt: skip
    method = SimCLR(encoder, head=torch.nn.Identity(), temperature=0.05)
    method.train()
    batch = Batch(views=[encoder.tokenize(corpus[:12]), encoder.tokenize(corpus[12:24])])
    torch.manual_seed(5)
    plain_chunked_loss(method, batch, 5).backward()
    want = _grads(method)
    method.zero_grad()
    torch.manual_seed(5)
    cached_step(method, batch, 5)
    for got, ref in zip(_grads(method), want, strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)


def test_text_runs_and_fp16_reject_grad_cache_before_training(tmp_path) -> None:
    from contrastkit.errors import ConfigError
    from contrastkit.pipeline.settings import load_config

    texts = tmp_path / "x.txt"
    texts.write_text("a text\nanother text\n")
    settings = {"data.dataset": str(texts), "method.name": "triplet", "train.steps": 1}
    with pytest.raises(ConfigError, match=r"train\.grad_cache_chunk'?: Triplet cannot"):
        load_config(None, {**settings, "train.grad_cache_chunk": 8})
    with pytest.raises(ConfigError, match="fp16"):
        Trainer(SimCLR(_mlp(), head=_head()), steps=1, precision="fp16", grad_cache_chunk=4)
