"""Backbones of other libraries through the image run path: strict keys before any data is
read, one sentence for weights that are missing or do not fit, views fitted to what the
backbone takes (a ViT's input side, pretrained normalisation), and short runs that train,
evaluate against the random-init encoder and the pretrained start, and reload."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import timm
import torch
import torchvision

from contrastkit.cli import main
from contrastkit.data.digits import load_digits
from contrastkit.encoders import build_vision_encoder
from contrastkit.errors import ConfigError
from contrastkit.modalities.image import ImageModality
from contrastkit.pipeline.embedder import load_embedder
from contrastkit.pipeline.evaluate_run import evaluate
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train

STEPS = {"data.dataset": "digits", "train.steps": 1}
VIT = {  # a one-block ViT-Tiny on 8x8 digits upsampled to 16x16, 4x4 patches: quick
    "model.backbone": "timm:vit_tiny_patch16_224", "model.patch_size": 4,
    "model.input_size": 16, "model.backbone_args": {"depth": 1},
}  # fmt: skip


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory) -> Path:
    """A tiny randomly initialised Hugging Face ViT (16x16 inputs), saved, never downloaded."""
    import transformers

    folder = tmp_path_factory.mktemp("hf") / "tiny-vit"
    config = transformers.ViTConfig(
        image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.ViTModel(config).save_pretrained(folder)
    transformers.ViTImageProcessor(image_mean=[0.5] * 3, image_std=[0.25] * 3).save_pretrained(
        folder
    )
    return folder


@pytest.fixture(scope="module")
def vit_weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "vit.pth"
    kwargs = {"patch_size": 4, "img_size": 16, "depth": 1}
    torch.save(
        timm.create_model("vit_tiny_patch16_224", num_classes=10, **kwargs).state_dict(), path
    )
    return path


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"model.backbone": "keras:resnet50"}, ["'model.backbone'", "keras:resnet50",
                                                "torchvision:NAME", "timm:NAME", "folder"]),
        ({"model.backbone": "timm:vit_tiniest"}, ["'model.backbone'", "timm has no model",
                                                  "vit_tiniest"]),
        ({"model.backbone": "torchvision:resnet19"}, ["'model.backbone'", "close: resnet18"]),
        ({"model.backbone": "./no/such/folder"}, ["'model.backbone'", "no such folder"]),
        ({"model.weights": "/no/such/weights.pth"}, ["'model.weights'", "/no/such/weights.pth"]),
        ({"model.patch_size": 4}, ["'model.patch_size' does not apply to the backbone compact_cnn",
                                   "timm backbones"]),
        ({"model.backbone": "torchvision:resnet18", "model.patch_size": 4}, ["'model.patch_size'"]),
    ],
    ids=["prefix", "timm-name", "torchvision-name", "folder", "weights-file", "patch-size-cnn",
         "patch-size-torchvision"],
)  # fmt: skip
def test_bad_backbone_settings_are_refused_before_any_data_is_read(overrides, expected) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, {**STEPS, **overrides})
    message = str(info.value)
    assert all(part in message for part in expected), message
    assert "\n" not in message


def test_a_folder_without_config_json_and_weights_for_a_folder_are_refused(
    tmp_path: Path, hf_folder: Path
) -> None:
    with pytest.raises(ConfigError, match=r"has no config\.json"):
        load_config(None, {**STEPS, "model.backbone": str(tmp_path)})
    weights = tmp_path / "w.pth"
    torch.save({}, weights)
    with pytest.raises(ConfigError, match=r"'model\.weights' does not apply to the backbone"):
        load_config(
            None, {**STEPS, "model.backbone": str(hf_folder), "model.weights": str(weights)}
        )


def _resolve(**overrides):
    cfg = load_config(None, {**STEPS, **overrides})
    modality = ImageModality()
    return modality.resolve(cfg, modality.prepare(cfg, None))


def test_a_vit_sets_the_view_size_and_random_init_keeps_the_data_statistics() -> None:
    cfg = _resolve(**VIT)
    assert (cfg.views.size, cfg.views.eval_size) == (16, 16)
    mean, std = load_digits("train").channel_stats()
    assert cfg.views.mean == pytest.approx(mean, abs=0.02)  # the split keeps the hold-out out
    assert cfg.views.std == pytest.approx(std, abs=0.02)


def test_pretrained_weights_bring_their_normalisation(vit_weights: Path) -> None:
    cfg = _resolve(**VIT, **{"model.weights": str(vit_weights)})
    assert (cfg.views.mean, cfg.views.std) == ([0.5], [0.5])  # timm's pretrained_cfg, 1 channel
    path = vit_weights.parent / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    cfg = _resolve(**{"model.backbone": "torchvision:resnet18", "model.weights": str(path)})
    assert cfg.views.mean == [0.449] and cfg.views.std == [0.226]  # ImageNet, RGB averaged
    assert cfg.views.size == 8 and cfg.views.eval_size is None  # a CNN takes any size


@pytest.mark.parametrize(
    ("overrides", "key"),
    [({"views.size": 12}, "views.size"), ({"views.local_views": 2}, "views.local_views")],
)
def test_views_a_vit_cannot_take_are_refused(overrides, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^config key '{re.escape(key)}': timm:vit_tiny"):
        _resolve(**VIT, **overrides)


def test_weights_that_do_not_fit_stop_train_with_one_sentence(tmp_path, monkeypatch, capsys):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    argv = ["contrastkit", "train", "--dataset", "digits", "--backbone", "resnet18",
            "--set", f"model.weights={path}", "--steps", "3", "--batch-size", "4",
            "--no-progress", "--no-evaluate", "--run-dir", str(tmp_path / "run")]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert err.startswith(f"error: config key 'model.weights': the tensors in {path} do not fit")
    assert "conv1.weight is 64x3x7x7 in the file, 64x1x3x3 in the model" in err  # 3x3 stem
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "run" / "config.yaml").exists()  # refused before the run began


def _train(run_dir: Path, **overrides):
    cfg = load_config(None, {**STEPS, "train.steps": 3, "train.batch_size": 32,
                             "train.monitor_every": 0, "train.run_dir": str(run_dir),
                             "eval.linear": False, **overrides})  # fmt: skip
    torch.manual_seed(0)
    fit, _ = train(cfg, progress=False)
    return fit, {(r["system"], r["metric"]): r["value"] for r in evaluate(run_dir)}


def test_a_timm_vit_with_weights_trains_evaluates_and_reloads(tmp_path, vit_weights) -> None:
    fit, scores = _train(tmp_path / "run", **VIT, **{"model.weights": str(vit_weights)})
    assert fit.steps == 3
    systems = {system for system, _ in scores}
    assert {"contrastkit simclr", "random-init encoder", "pretrained start"} <= systems
    embedder = load_embedder(tmp_path / "run")
    vectors = embedder.embed_source(None, "test").vectors
    assert vectors.shape[1] == 192 and torch.isfinite(torch.from_numpy(vectors)).all()
    trained = embedder.model.state_dict()
    for exported in ("encoder.safetensors", "method.safetensors"):  # a run starts another
        again = build_vision_encoder(
            VIT["model.backbone"], 1, weights=tmp_path / "run" / exported, image_size=16,
            patch_size=4, backbone_args={"depth": 1},
        )  # fmt: skip
        for key, value in again.state_dict().items():
            torch.testing.assert_close(value, trained[key])


def test_a_hugging_face_folder_trains_through_the_run_path(tmp_path, hf_folder) -> None:
    fit, scores = _train(tmp_path / "run", **{"model.backbone": str(hf_folder)})
    assert fit.steps == 3 and ("pretrained start", "knn_top1") in scores
    cfg = load_config(tmp_path / "run" / "config.yaml")
    assert (cfg.views.size, cfg.views.mean, cfg.views.std) == (16, [0.5], [0.25])
