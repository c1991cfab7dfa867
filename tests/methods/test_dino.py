"""The DINO method on random tensors: multi-crop (teacher sees the global views only), the
EMA teacher and its cosine momentum, the teacher-temperature warm-up, the center, the
frozen last layer, the head, a ViT backbone and the config's validation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from contrastkit.encoders import CompactCNN
from contrastkit.encoders.backbones import build_backbone
from contrastkit.errors import ConfigError
from contrastkit.losses.dino import dino_loss
from contrastkit.methods import DINO, Batch
from contrastkit.methods.params import validate_method_params
from contrastkit.nn.heads import DINOHead


def _dino(**kwargs) -> DINO:
    torch.manual_seed(0)
    settings = {"out_dim": 32, "proj_hidden_dim": 24, "proj_dim": 8, **kwargs}
    return DINO(CompactCNN(1, widths=(8, 16)), **settings)


def _batch(n: int = 8, local: int = 3, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    views = [torch.randn(n, 1, 12, 12, generator=g) for _ in range(2)]
    views += [torch.randn(n, 1, 6, 6, generator=g) for _ in range(local)]
    return Batch(views, index=torch.arange(n))


def test_the_teacher_sees_the_global_views_and_the_student_every_view():
    method = _dino()
    seen: dict[str, list[tuple[int, ...]]] = {"student": [], "teacher": []}
    method.encoder.register_forward_hook(lambda m, i, o: seen["student"].append(i[0].shape))
    method.teacher_encoder.register_forward_hook(lambda m, i, o: seen["teacher"].append(i[0].shape))
    out = method.training_step(_batch(local=3))
    assert seen["student"] == [(16, 1, 12, 12), (24, 1, 6, 6)]  # batched by size
    assert seen["teacher"] == [(16, 1, 12, 12)]
    h1, h2 = out.embeddings
    assert h1.shape == h2.shape == (8, method.encoder.output_dim)


def test_the_step_loss_is_dino_loss_of_student_and_teacher_outputs():
    method = _dino()
    batch = _batch(local=2)
    method.criterion.center.copy_(0.1 * torch.randn(32))
    method.eval()  # BatchNorm's running statistics: batching views by size does not matter
    loss = method.training_step(batch).loss
    with torch.no_grad():
        student = [method.head(method.encoder(v)) for v in batch.views]
        teacher = [method.teacher_head(method.teacher_encoder(v)) for v in batch.views[:2]]
    want = dino_loss(student, teacher, method.criterion.center, teacher_temperature=0.04)
    torch.testing.assert_close(loss, want, rtol=1e-5, atol=1e-6)


def test_gradients_reach_the_student_and_never_the_teacher():
    method = _dino()
    method.training_step(_batch()).loss.backward()
    assert all(p.grad is not None for p in method.encoder.parameters())
    assert all(p.grad is not None for p in method.head.parameters())
    teacher = [*method.teacher_encoder.parameters(), *method.teacher_head.parameters()]
    assert all(not p.requires_grad and p.grad is None for p in teacher)


def test_the_teacher_follows_the_student_with_the_cosine_momentum():
    method = _dino(momentum=0.9)
    before = [p.clone() for p in method.teacher_head.parameters()]
    with torch.no_grad():
        for p in method.head.parameters():
            p.add_(1.0)  # as if an optimiser step moved the student
    method.training_step(_batch())
    method.on_step_end(0.25)
    lam = 1.0 - 0.1 * (math.cos(math.pi * 0.25) + 1) / 2  # 1 - (1 - base)(cos(pi p) + 1)/2
    assert method.momentum == pytest.approx(lam)
    for old, new, student in zip(
        before, method.teacher_head.parameters(), method.head.parameters(), strict=True
    ):
        torch.testing.assert_close(new, lam * old + (1 - lam) * student)
    method.on_step_end(1.0)
    assert method.momentum == 1.0  # the teacher stops moving at the end
    method.on_step_end(0.0)
    assert method.momentum == pytest.approx(0.9)


def test_the_teacher_temperature_warms_up_with_the_progress():
    method = _dino(warmup_teacher_temperature=0.04, teacher_temperature=0.07,
                   teacher_temperature_warmup=0.5)  # fmt: skip
    seen = []
    for progress in (0.1, 0.25, 0.5, 0.9):
        seen.append(method.training_step(_batch()).metrics["teacher_temperature"])
        method.on_step_end(progress)
    assert seen == pytest.approx([0.04, 0.046, 0.055, 0.07])  # the progress before each step
    assert float(method.progress) == 0.9 and int(method.steps_done) == 4


def test_the_center_is_the_ema_of_the_teacher_means_and_changes_after_the_step_only():
    method = _dino(center_momentum=0.9)
    batch = _batch(local=2)
    center = torch.zeros(32)
    for step in range(3):
        with torch.no_grad():  # the teacher as the step sees it (BatchNorm on both views)
            h = method.teacher_encoder(torch.cat(batch.views[:2]))
            mean = method.teacher_head(h).mean(dim=0)
        method.training_step(batch)
        torch.testing.assert_close(method.criterion.center, center)  # not yet
        method.on_step_end(0.1 * (step + 1))
        center = 0.9 * center + 0.1 * mean
        torch.testing.assert_close(method.criterion.center, center, rtol=1e-5, atol=1e-6)
    assert "criterion.center" in method.state_dict()


def test_a_skipped_step_updates_nothing():
    method = _dino()
    state = {k: v.clone() for k, v in method.state_dict().items()}
    method.training_step(_batch())  # the trainer skips it: no on_step_end
    method.training_step(_batch(seed=2))
    method.on_step_end(0.5)
    other = _dino()
    other.load_state_dict(state)
    other.training_step(_batch(seed=2))
    other.on_step_end(0.5)
    for key, value in other.state_dict().items():  # the trainer restores BatchNorm's
        if key.split(".")[-1] not in ("running_mean", "running_var", "num_batches_tracked"):
            torch.testing.assert_close(method.state_dict()[key], value, msg=key)


def test_the_last_layer_is_frozen_for_the_first_steps():
    method = _dino(freeze_last_layer_steps=2)
    assert method.unused_parameters  # DDP must be told
    for step in range(3):
        method.zero_grad()
        method.training_step(_batch()).loss.backward()
        frozen = method.head.last_layer.weight.grad is None
        assert frozen == (step < 2), step
        assert method.head.mlp[0].weight.grad is not None
        method.on_step_end(0.1)
    assert not _dino().unused_parameters


def test_the_head_is_an_mlp_to_a_normalised_bottleneck_and_a_cosine_layer():
    head = DINOHead(10, hidden_dim=16, bottleneck_dim=6, output_dim=20)
    x = torch.randn(5, 10)
    z = F.normalize(head.mlp(x), dim=1)
    w = F.normalize(head.last_layer.weight, dim=1)
    torch.testing.assert_close(head(x), z @ w.T)
    assert head(x).abs().max() <= 1.0 + 1e-6  # cosines
    with torch.no_grad():  # the scale of a row does not matter (weight norm, g = 1)
        head.last_layer.weight[0] *= 7.0
    torch.testing.assert_close(head(x), z @ w.T)
    linears = [m for m in head.mlp if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [16, 16, 6]
    norms = [m for m in DINOHead(10, 16, 6, 20, batch_norm=True).mlp if "Norm" in type(m).__name__]
    assert len(norms) == 2  # after each hidden layer
    with pytest.raises(ValueError, match="output_dim"):
        DINOHead(10, output_dim=0)


def test_a_vit_trains_on_global_and_local_crops():
    torch.manual_seed(0)
    vit = build_backbone("timm:vit_tiny_patch16_224", image_size=12, patch_size=3,
                         kwargs={"depth": 1, "dynamic_img_size": True, "in_chans": 1})  # fmt: skip
    method = DINO(vit, out_dim=32, proj_hidden_dim=24, proj_dim=8)
    out = method.training_step(_batch(n=4, local=2))  # 12x12 and 6x6 crops
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert all(p.grad is not None for p in method.encoder.parameters() if p.requires_grad)
    method.on_step_end(0.5)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("out_dim", 0),
        ("student_temperature", 0.0),
        ("teacher_temperature", -0.1),
        ("warmup_teacher_temperature", 0.0),
        ("teacher_temperature_warmup", 1.5),
        ("center_momentum", 1.0),
        ("momentum", 1.2),
        ("freeze_last_layer_steps", -1),
    ],
)
def test_config_errors_name_the_key(key, value):
    with pytest.raises(ConfigError, match=rf"method\.{key}"):
        validate_method_params("dino", {key: value})


def test_the_config_takes_the_documented_keys():
    params = validate_method_params("dino", {"out_dim": 256, "momentum": 0.99})
    assert params["out_dim"] == 256 and params["teacher_temperature"] == 0.07
    assert params["warmup_teacher_temperature"] == 0.04 and params["center_momentum"] == 0.9


def test_gather_needs_a_process_group():
    with pytest.raises(ValueError, match="gather"):
        _dino(gather=True)
