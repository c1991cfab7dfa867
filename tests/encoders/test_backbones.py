"""Backbones of torchvision, timm and Hugging Face: with the same weights file, our encoder
gives the features of the library's own model without its classifier; 1-channel images are
the gray image on every RGB channel; ViTs fit small images; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

from contrastkit.encoders import build_vision_encoder
from contrastkit.errors import ConfigError


def _same(a: torch.Tensor, b: torch.Tensor) -> None:
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_torchvision_resnet18_gives_torchvision_features_from_a_weights_file(tmp_path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")  # fc included
    reference.fc = nn.Identity()
    torch.manual_seed(1)  # our random init differs, so equal features mean the file loaded
    encoder = build_vision_encoder("torchvision:resnet18", 1, weights=tmp_path / "resnet18.pth")
    assert encoder.output_dim == 512
    reference.eval(), encoder.eval()
    gray = torch.rand(3, 1, 64, 64)
    with torch.no_grad():
        _same(encoder(gray), reference(gray.expand(-1, 3, -1, -1)))
        rgb = torch.rand(3, 3, 64, 64)
        _same(encoder(rgb), reference(rgb))


def test_torchvision_mobilenet_loads_safetensors_and_gives_pooled_features(tmp_path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.mobilenet_v3_small(weights=None)
    save_file(reference.state_dict(), str(tmp_path / "mobilenet.safetensors"))
    reference.classifier[3] = nn.Identity()  # its last linear layer: 1024-d features
    encoder = build_vision_encoder(
        "torchvision:mobilenet_v3_small", 3, weights=tmp_path / "mobilenet.safetensors"
    ).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = encoder(x)
        _same(out, reference.eval()(x))
    assert out.shape == (2, 1024) == (2, encoder.output_dim)
    assert encoder.input_spec.mean == (0.485, 0.456, 0.406) and encoder.input_spec.size is None


@pytest.mark.parametrize(
    ("name", "kwargs", "side", "dim"),
    [
        ("resnet18", {}, 32, 512),
        ("convnext_atto", {}, 32, 320),
        ("vit_tiny_patch16_224", {"patch_size": 4, "img_size": 28, "depth": 2}, 28, 192),
    ],
)
def test_timm_features_equal_timm_loading_the_same_file(tmp_path, name, kwargs, side, dim) -> None:
    torch.manual_seed(0)
    path = tmp_path / f"{name}.safetensors"
    save_file(timm.create_model(name, num_classes=10, **kwargs).state_dict(), str(path))
    reference = timm.create_model(
        name, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, num_classes=0, **kwargs
    ).eval()
    image_size, patch_size = kwargs.pop("img_size", None), kwargs.pop("patch_size", None)
    encoder = build_vision_encoder(
        f"timm:{name}", 1, weights=path, image_size=image_size, patch_size=patch_size,
        backbone_args=kwargs,
    ).eval()  # fmt: skip
    gray = torch.rand(2, 1, side, side)
    with torch.no_grad():
        _same(encoder(gray), reference(gray.expand(-1, 3, -1, -1)))
    assert encoder.output_dim == dim


def test_timm_vit_weights_of_another_grid_are_resampled_like_timm_does(tmp_path) -> None:
    """Weights of a ViT on 32x32 inputs with 8x8 patches start one on 28x28 with 4x4
    patches: timm's converter resamples the position and patch embeddings."""
    torch.manual_seed(0)
    source = timm.create_model(
        "vit_tiny_patch16_224", num_classes=10, patch_size=8, img_size=32, depth=2
    )
    torch.save(source.state_dict(), tmp_path / "vit32.pth")
    reference = timm.create_model(
        "vit_tiny_patch16_224", pretrained=True, num_classes=0, patch_size=4, img_size=28,
        depth=2, pretrained_cfg_overlay={"file": str(tmp_path / "vit32.pth")},
    ).eval()  # fmt: skip
    encoder = build_vision_encoder(
        "timm:vit_tiny_patch16_224", 3, weights=tmp_path / "vit32.pth", image_size=28,
        patch_size=4, backbone_args={"depth": 2},
    ).eval()  # fmt: skip
    x = torch.rand(2, 3, 28, 28)
    with torch.no_grad():
        _same(encoder(x), reference(x))
    assert encoder.model.pos_embed.shape == (1, 50, 192)  # 7x7 patches and the class token


@pytest.mark.parametrize(
    ("name", "dim", "side", "mean"),
    [
        ("vit_small_patch16_224", 384, 224, (0.5, 0.5, 0.5)),
        ("vit_base_patch16_224", 768, 224, (0.5, 0.5, 0.5)),
        ("convnext_atto", 320, None, (0.485, 0.456, 0.406)),
    ],
)
def test_timm_vits_and_convnext_say_what_input_they_take(name, dim, side, mean) -> None:
    encoder = build_vision_encoder(f"timm:{name}", 3).eval()
    spec = encoder.input_spec
    assert (encoder.output_dim, spec.size, spec.mean, spec.channels) == (dim, side, mean, 3)
    with torch.no_grad():
        assert encoder(torch.rand(1, 3, side or 64, side or 64)).shape == (1, dim)


def test_a_vit_with_4x4_patches_embeds_28x28_images() -> None:
    encoder = build_vision_encoder("timm:vit_tiny_patch16_224", 1, image_size=28, patch_size=4)
    assert encoder.input_spec.size == 28
    out = encoder(torch.rand(4, 1, 28, 28))
    assert out.shape == (4, 192)
    out.sum().backward()
    assert encoder.model.patch_embed.proj.weight.grad.shape == (192, 3, 4, 4)


def test_an_argument_the_model_does_not_take_names_its_key() -> None:
    with pytest.raises(ConfigError, match=r"^config key 'model\.patch_size' does not apply"):
        build_vision_encoder("timm:resnet18", 3, patch_size=4)
    with pytest.raises(ConfigError, match=r"^config key 'model\.input_size' does not apply"):
        build_vision_encoder("torchvision:resnet18", 3, image_size=32)


def _hf_vit(folder: Path) -> nn.Module:
    import transformers

    config = transformers.ViTConfig(
        image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64,
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.ViTModel(config)
    model.save_pretrained(folder)
    transformers.ViTImageProcessor(image_mean=[0.4] * 3, image_std=[0.2] * 3).save_pretrained(
        folder
    )
    return model.eval()


def test_a_hugging_face_vit_folder_embeds_with_the_token_mean(tmp_path: Path) -> None:
    model = _hf_vit(tmp_path / "vit")
    encoder = build_vision_encoder(str(tmp_path / "vit"), 1).eval()
    spec = encoder.input_spec
    assert (spec.size, spec.mean, spec.std) == (16, (0.4,) * 3, (0.2,) * 3)
    assert encoder.model.pooler is None  # unused by the token mean: no gradient-less weights
    gray = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        expected = model(pixel_values=gray.expand(-1, 3, -1, -1)).last_hidden_state.mean(1)
        _same(encoder(gray), expected)
    assert encoder.output_dim == 32
    scratch = build_vision_encoder(str(tmp_path / "vit"), 1, pretrained=False)
    own = encoder.model.embeddings.patch_embeddings.projection.weight
    assert not torch.equal(scratch.model.embeddings.patch_embeddings.projection.weight, own)


def test_a_hugging_face_resnet_folder_embeds_with_its_pooled_output(tmp_path: Path) -> None:
    import transformers

    torch.manual_seed(0)
    config = transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])
    model = transformers.ResNetModel(config).eval()
    model.save_pretrained(tmp_path / "resnet")
    encoder = build_vision_encoder(str(tmp_path / "resnet"), 3).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        _same(encoder(x), model(pixel_values=x).pooler_output.flatten(1))
    assert encoder.output_dim == 16 and encoder.input_spec.size is None
    assert encoder.input_spec.mean is None  # no preprocessor_config.json in the folder
