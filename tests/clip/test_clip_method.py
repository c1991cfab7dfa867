"""CLIP method: loss against a slow reference, symmetry, temperature, locked tower."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from contrastkit.methods.base import Batch
from contrastkit.methods.clip import CLIP, LockedTower


class Tower(nn.Module):
    """A linear tower with output_dim: (B, d_in) -> (B, d_out)."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.net = nn.Linear(d_in, d_out)
        self.output_dim = d_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def slow_clip_loss(img: torch.Tensor, txt: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """Radford et al. 2021, fig. 3, one row at a time in float64."""
    scale = log_scale.exp()
    a = [row / row.norm() for row in img]
    b = [row / row.norm() for row in txt]
    n = len(a)
    total = torch.zeros((), dtype=torch.float64)
    for i in range(n):
        image_row = torch.stack([scale * (a[i] @ b[j]) for j in range(n)])
        text_row = torch.stack([scale * (b[i] @ a[j]) for j in range(n)])
        total = total - torch.log(torch.exp(image_row[i]) / torch.exp(image_row).sum())
        total = total - torch.log(torch.exp(text_row[i]) / torch.exp(text_row).sum())
    return total / (2 * n)


def make_clip(**kwargs) -> CLIP:
    torch.manual_seed(0)
    kwargs.setdefault("embed_dim", 3)
    return CLIP(Tower(6, 5), text_encoder=Tower(4, 7), **kwargs)


@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_loss_and_gradients_match_slow_reference(temperature: float) -> None:
    method = make_clip(temperature=temperature)
    g = torch.Generator().manual_seed(1)
    z_img = torch.randn(9, 3, generator=g, requires_grad=True)
    z_txt = torch.randn(9, 3, generator=g, requires_grad=True)
    loss = method.objective([z_img, z_txt], Batch([z_img, z_txt]))
    loss.backward()

    ref_img = z_img.detach().double().requires_grad_(True)
    ref_txt = z_txt.detach().double().requires_grad_(True)
    ref_scale = torch.tensor(math.log(1 / temperature), dtype=torch.float64, requires_grad=True)
    ref = slow_clip_loss(ref_img, ref_txt, ref_scale)
    ref.backward()

    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    torch.testing.assert_close(z_img.grad, ref_img.grad.float(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(z_txt.grad, ref_txt.grad.float(), rtol=1e-4, atol=1e-6)
    assert method.logit_scale.grad.item() == pytest.approx(ref_scale.grad.item(), rel=1e-4)


def test_loss_is_symmetric_in_the_towers() -> None:
    method = make_clip()
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(8, 3, generator=g), torch.randn(8, 3, generator=g)
    ab = method.objective([a, b], Batch([a, b]))
    ba = method.objective([b, a], Batch([b, a]))
    assert ab.item() == pytest.approx(ba.item(), rel=1e-6)


def test_matched_pairs_give_low_loss_and_random_pairs_about_log_n() -> None:
    method = make_clip(temperature=0.01)
    eye = torch.eye(3)  # three orthogonal unit pairs, each matched
    assert method.objective([eye, eye], Batch([eye, eye])).item() < 1e-6
    flat = torch.ones(3, 3)  # all similarities equal: log N
    assert method.objective([flat, flat], Batch([flat, flat])).item() == pytest.approx(
        math.log(3), rel=1e-5
    )


def test_training_step_reports_two_same_shape_embeddings_and_trains_the_temperature() -> None:
    method = make_clip()
    x, t = torch.randn(8, 6), torch.randn(8, 4)
    out = method.training_step(Batch([x, t]))
    assert out.embeddings[0].shape == out.embeddings[1].shape == (8, 3)
    assert out.metrics["temperature"] == pytest.approx(0.07, rel=1e-5)
    out.loss.backward()
    assert method.logit_scale.grad is not None and method.logit_scale.grad.abs() > 0
    assert method.text_proj.weight.grad is not None and method.image_proj.weight.grad is not None


def test_logit_scale_is_clamped_at_one_hundred_after_a_step() -> None:
    method = make_clip()
    with torch.no_grad():
        method.logit_scale.fill_(10.0)
    method.on_step_end(0.5)
    assert method.logit_scale.exp().item() == pytest.approx(100.0, rel=1e-5)
    fixed = make_clip(learn_temperature=False)
    assert "logit_scale" not in dict(fixed.named_parameters())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": 0.0}, "temperature must be > 0"),
        ({"temperature": 0.001}, "max_logit_scale"),
        ({"embed_dim": 0}, "embed_dim must be >= 1"),
        ({"gather": True}, "torch.distributed"),
    ],
)
def test_invalid_arguments_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_clip(**kwargs)


def test_one_view_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least 2 views"):
        make_clip().training_step(Batch([torch.randn(4, 6)]))


def test_locked_tower_is_frozen_memoised_and_ignores_padding() -> None:
    class Counting(nn.Module):
        output_dim = 2

        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(10, 2)
            self.calls = 0

        def forward(self, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
            self.calls += tokens["input_ids"].shape[0]
            mask = tokens["attention_mask"].unsqueeze(-1).float()
            return (self.emb(tokens["input_ids"]) * mask).sum(1)

    inner = Counting()
    tower = LockedTower(inner)
    short = {"input_ids": torch.tensor([[1, 2], [3, 4]]), "attention_mask": torch.ones(2, 2)}
    padded = {
        "input_ids": torch.tensor([[1, 2, 0], [5, 6, 7]]),
        "attention_mask": torch.tensor([[1, 1, 0], [1, 1, 1]]),
    }
    first = tower(short)
    again = tower(padded)
    assert inner.calls == 3  # [1, 2] was remembered despite the padding
    torch.testing.assert_close(again[0], first[0])
    assert not any(p.requires_grad for p in tower.parameters())
    tower.train()
    assert not inner.training
    method = CLIP(Tower(6, 5), text_encoder=inner, embed_dim=3, lock_text=True)
    out = method.training_step(Batch([torch.randn(2, 6), short]))
    out.loss.backward()
    assert inner.emb.weight.grad is None and method.text_proj.weight.grad is not None


def test_gradient_caching_matches_the_plain_chunked_step() -> None:
    from contrastkit.train.grad_cache import cached_step, plain_chunked_loss

    x, t = torch.randn(8, 6), torch.randn(8, 4)
    cached = make_clip()
    cached_step(cached, Batch([x, t]), chunk_size=3)
    plain = make_clip()
    plain_chunked_loss(plain, Batch([x, t]), chunk_size=3).backward()
    for (name, p), q in zip(cached.named_parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)
