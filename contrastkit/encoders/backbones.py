"""Vision backbones of other libraries as encoders: torchvision and timm models by name,
Hugging Face vision models from a local folder. Nothing is ever downloaded.

`model.backbone` values (besides the built-in "compact_cnn" and "resnet18/34/50"):

- "torchvision:NAME": a classification model of `torchvision.models.list_models()`, built
  with `weights=None`. Its last linear layer (the classifier) becomes an Identity, so the
  features are what fed it: pooled 512-d (ResNet-18), the class token (ViT), pooled and
  layer-normed (ConvNeXt). SqueezeNet, whose classifier is a 1x1 conv, is average-pooled
  instead. `image_size` is torchvision's `image_size` (ViTs).
- "timm:NAME": `timm.create_model(NAME, pretrained=False, num_classes=0)`: timm's pooled
  pre-logits features. `patch_size` and `image_size` become timm's `patch_size` and
  `img_size`, which fit a ViT to small images (`timm:vit_tiny_patch16_224`, patch 4,
  image 28: 7x7 patches of 4x4 pixels).
- a folder holding config.json: `transformers.AutoModel.from_pretrained(folder,
  local_files_only=True)`. Features are the mean of `last_hidden_state` over the tokens for
  transformers (ViT, DeiT, DINOv2; their pooler, a dense layer on the class token that many
  checkpoints do not train, is dropped), and `pooler_output` for convolutional models
  (ResNet, ConvNeXt: the pooled feature map).

Weights: `weights` names a local state dict for torchvision and timm backbones
(`contrastkit.encoders.weights`); a Hugging Face folder brings its own. `pretrained=False`
builds the same architecture with random weights (the random-init baseline).

Channels: the models take RGB; a 1-channel batch is repeated to 3 channels in `forward`,
so pretrained RGB weights apply unchanged (the first layer sees the gray image on every
channel, which equals summing its weights over the channels) and checkpoints load as they
are.

Input: each backbone carries a `BackboneInput` (`encoder.input_spec`): the fixed input
side of models whose position embeddings fix the number of patches (ViTs; CNNs and Swin in
torchvision take any size), and the normalisation its pretrained weights expect (timm's
`pretrained_cfg`, torchvision's weights transforms, the folder's preprocessor_config.json).
"""

from __future__ import annotations

import difflib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.encoders.weights import load_backbone_weights
from contrastkit.errors import ConfigError, ContrastkitError

__all__ = [
    "BUILTIN_BACKBONES",
    "BackboneInput",
    "ExternalBackbone",
    "backbone_kind",
    "build_backbone",
    "check_backbone",
    "hf_features",
]

BUILTIN_BACKBONES = ("compact_cnn", "resnet18", "resnet34", "resnet50")
ALLOWED = (
    "compact_cnn, resnet18, resnet34, resnet50, torchvision:NAME (a torchvision "
    "classification model), timm:NAME (a timm model) or the path of a local Hugging Face "
    "model folder (holding config.json)"
)
_AUX_HEADS = ("aux1.", "aux2.", "AuxLogits.")  # GoogLeNet / Inception auxiliary classifiers


@dataclass(frozen=True)
class BackboneInput:
    """What a backbone expects of its input.

    Attributes:
        channels: image channels the model takes (1-channel batches are repeated to it).
        size: the square input side the model is built for, or None when any size works.
        mean, std: per-channel normalisation of its pretrained weights, or None.
        source: where `mean`/`std` come from ("timm pretrained_cfg", ...).
    """

    channels: int = 3
    size: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    source: str = ""


class ExternalBackbone(nn.Module):
    """A model of another library as an encoder: (B, C, H, W) -> (B, output_dim).

    Args:
        model: the torchvision, timm or transformers model, its classifier removed.
        output_dim: feature size.
        input_spec: what the model expects (`BackboneInput`).
        hf_outputs: the model returns a transformers output (read as described in the
            module docstring) rather than a (B, D) tensor.

    A 1-channel batch is repeated to `input_spec.channels` channels.
    """

    def __init__(
        self, model: nn.Module, output_dim: int, input_spec: BackboneInput, hf_outputs: bool
    ) -> None:
        super().__init__()
        self.model, self.output_dim, self.input_spec = model, output_dim, input_spec
        self.hf_outputs = hf_outputs

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1 and self.input_spec.channels != 1:
            x = x.expand(-1, self.input_spec.channels, -1, -1)
        if not self.hf_outputs:
            return self.model(x)
        return hf_features(self.model(pixel_values=x))


def hf_features(out: Any) -> Tensor:
    """(B, D) features of a transformers output: the token mean of `last_hidden_state`
    (B, N, D), else `pooler_output` (or the spatial mean of a (B, C, H, W) feature map)."""
    hidden = out.last_hidden_state
    if hidden.ndim == 3:
        return hidden.mean(1)
    pooled = getattr(out, "pooler_output", None)
    return (pooled if pooled is not None else hidden.mean((-2, -1))).flatten(1)


# ---- names --------------------------------------------------------------------------------
def backbone_kind(name: str) -> str:
    """The kind of backbone a value names, from its form: "builtin", "torchvision", "timm",
    "huggingface" (a folder) or "unknown"."""
    if name in BUILTIN_BACKBONES:
        return "builtin"
    for prefix in ("torchvision", "timm"):
        if name.startswith(f"{prefix}:"):
            return prefix
    looks_like_path = "/" in name or "\\" in name or name.startswith((".", "~"))
    return "huggingface" if looks_like_path or Path(name).is_dir() else "unknown"


def _close(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return f" (close: {', '.join(near)})" if near else ""


def check_backbone(name: str) -> str:
    """Validate a `model.backbone` value without building it; folders come back absolute.

    Raises:
        ValueError: an unknown form, a torchvision or timm name that does not exist, or a
            folder that is missing or has no config.json (says what is allowed).
    """
    kind = backbone_kind(name)
    if kind == "builtin":
        return name
    if kind == "torchvision":
        import torchvision.models as tvm

        model = name.split(":", 1)[1]
        known = tvm.list_models(module=tvm)
        if model not in known:
            raise ValueError(
                f"torchvision has no classification model {model!r}{_close(model, known)}; "
                "torchvision.models.list_models() lists them"
            )
        return name
    if kind == "timm":
        timm = _timm()
        model = name.split(":", 1)[1]
        if not timm.is_model(model):
            raise ValueError(
                f"timm has no model {model!r}{_close(model, timm.list_models())}; "
                "timm.list_models('vit_*') lists them"
            )
        return name
    if kind == "huggingface":
        folder = Path(name).expanduser().resolve()
        if not folder.is_dir():
            raise ValueError(f"no such folder {folder} (for a Hugging Face model folder)")
        if not (folder / "config.json").is_file():
            raise ValueError(f"{folder} has no config.json, so it is no Hugging Face model folder")
        return str(folder)
    raise ValueError(f"must be {ALLOWED}")


def _timm():
    try:
        import timm
    except ImportError as exc:  # a dependency of contrastkit; missing in a partial install
        raise ContrastkitError("timm:NAME backbones need timm: pip install 'timm>=1.0'") from exc
    return timm


# ---- building -----------------------------------------------------------------------------
def build_backbone(
    name: str,
    *,
    weights: str | Path | None = None,
    pretrained: bool = True,
    image_size: int | None = None,
    patch_size: int | None = None,
    kwargs: dict[str, Any] | None = None,
) -> ExternalBackbone:
    """A torchvision, timm or Hugging Face backbone without its classifier.

    Args:
        name: "torchvision:NAME", "timm:NAME" or a Hugging Face model folder.
        weights: a local state dict file (torchvision and timm).
        pretrained: load `weights` (or the folder's weights); False: random weights.
        image_size: input side the model is built for (ViTs: fixes the position grid).
        patch_size: ViT patch side (timm).
        kwargs: more arguments of `torchvision.models.get_model` / `timm.create_model`.

    Returns:
        An `ExternalBackbone` with `output_dim` and `input_spec`.

    Raises:
        ConfigError: an argument the model does not take, or weights that do not fit.

    Example:
        >>> enc = build_backbone("timm:vit_tiny_patch16_224", image_size=28, patch_size=4)
        >>> enc(torch.randn(2, 1, 28, 28)).shape
        torch.Size([2, 192])
    """
    kind = backbone_kind(name)
    weights = weights if pretrained else None
    if kind == "torchvision":
        return _torchvision_backbone(name, weights, image_size, dict(kwargs or {}))
    if kind == "timm":
        return _timm_backbone(name, weights, image_size, patch_size, dict(kwargs or {}))
    if kind == "huggingface":
        return _huggingface_backbone(Path(name), pretrained)
    raise ConfigError(f"config key 'model.backbone': must be {ALLOWED}, got {name!r}")


def _unexpected_argument(name: str, exc: TypeError, keys: dict[str, str]) -> ConfigError:
    """A constructor's TypeError as a sentence naming the config key that caused it."""
    text = str(exc)
    key = next((k for arg, k in keys.items() if f"'{arg}'" in text), "model.backbone_args")
    return ConfigError(f"config key '{key}' does not apply to {name}: {text}")


def _torchvision_backbone(name, weights, image_size, kwargs) -> ExternalBackbone:
    import torchvision.models as tvm

    arch = name.split(":", 1)[1]
    if image_size is not None:
        kwargs["image_size"] = image_size
    if arch in ("googlenet", "inception_v3"):
        kwargs.setdefault("aux_logits", False)  # else training returns a tuple of logits
    try:
        model = tvm.get_model(arch, weights=None, **kwargs)
    except TypeError as exc:
        raise _unexpected_argument(name, exc, {"image_size": "model.input_size"}) from None
    head, output_dim = _drop_classifier(model, name)
    if weights is not None:
        load_backbone_weights(model, weights, backbone=name, ignore=(f"{head}.", *_AUX_HEADS))
    mean = std = None
    try:  # the normalisation torchvision's own weights were trained with
        preset = next(iter(tvm.get_model_weights(arch))).transforms()
        mean, std = tuple(preset.mean), tuple(preset.std)
    except Exception:  # a model without published weights
        pass
    size = getattr(model, "image_size", None)  # ViTs; CNNs and Swin take any size
    spec = BackboneInput(3, size, mean, std, "torchvision weights transforms")
    return ExternalBackbone(model, output_dim, spec, hf_outputs=False)


def _drop_classifier(model: nn.Module, name: str) -> tuple[str, int]:
    """Replace the classifier by Identity (pooling for SqueezeNet): (its name, feature size)."""
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if linears:
        head, layer = linears[-1]
        model.set_submodule(head, nn.Identity())
        return head, layer.in_features
    convs = [m for m in getattr(model, "classifier", nn.Sequential()).modules()]
    convs = [m for m in convs if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ConfigError(f"config key 'model.backbone': {name} has no classifier to remove")
    model.classifier = nn.AdaptiveAvgPool2d(1)
    return "classifier", convs[-1].in_channels


def _timm_backbone(name, weights, image_size, patch_size, kwargs) -> ExternalBackbone:
    timm = _timm()
    from timm.data import resolve_data_config

    arch = name.split(":", 1)[1]
    if image_size is not None:
        kwargs["img_size"] = image_size
    if patch_size is not None:
        kwargs["patch_size"] = patch_size
    try:
        model = timm.create_model(arch, pretrained=False, num_classes=0, **kwargs)
    except TypeError as exc:
        keys = {"img_size": "model.input_size", "patch_size": "model.patch_size"}
        raise _unexpected_argument(name, exc, keys) from None
    if weights is not None:
        classifier = model.pretrained_cfg.get("classifier") or ()
        heads = (classifier,) if isinstance(classifier, str) else tuple(classifier)
        entry = timm.models.model_entrypoint(timm.models.get_arch_name(arch))
        module = sys.modules[entry.__module__]  # its checkpoint converter, if it has one
        load_backbone_weights(
            model, weights, backbone=name, ignore=tuple(f"{h}." for h in heads),
            filter_fn=getattr(module, "checkpoint_filter_fn", None),
        )  # fmt: skip
    patches = getattr(model, "patch_embed", None)
    fixed = getattr(patches, "strict_img_size", False) and not getattr(
        model, "dynamic_img_size", False)  # fmt: skip
    data = resolve_data_config(model=model)
    spec = BackboneInput(
        int(kwargs.get("in_chans", 3)), int(patches.img_size[0]) if fixed else None,
        tuple(data["mean"]), tuple(data["std"]), "timm pretrained_cfg",
    )  # fmt: skip
    output_dim = getattr(model, "head_hidden_size", None) or model.num_features
    return ExternalBackbone(model, int(output_dim), spec, hf_outputs=False)


def _huggingface_backbone(folder: Path, pretrained: bool) -> ExternalBackbone:
    from contrastkit.encoders.text import require_transformers

    transformers = require_transformers()
    try:
        config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
        model = (
            transformers.AutoModel.from_pretrained(folder, local_files_only=True)
            if pretrained
            else transformers.AutoModel.from_config(config)
        )
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"config key 'model.backbone': cannot load {folder}: {first}") from None
    embeddings = getattr(model, "embeddings", None)
    fixed = isinstance(getattr(embeddings, "position_embeddings", None), nn.Parameter)
    side = getattr(config, "image_size", None)
    size = int(side if isinstance(side, int) else side[0]) if fixed and side else None
    mean = std = None
    pre = folder / "preprocessor_config.json"
    if pre.is_file():
        values = json.loads(pre.read_text())
        if values.get("image_mean") and values.get("image_std"):
            mean, std = tuple(values["image_mean"]), tuple(values["image_std"])
    channels = int(getattr(config, "num_channels", 3))
    spec = BackboneInput(channels, size, mean, std, pre.name)
    model.eval()
    with torch.no_grad():
        out = model(pixel_values=torch.zeros(1, channels, size or 64, size or 64))
    if out.last_hidden_state.ndim == 3 and isinstance(getattr(model, "pooler", None), nn.Module):
        model.pooler = None  # features are the token mean; an unused pooler gets no gradient
    model.train()
    return ExternalBackbone(model, hf_features(out).shape[1], spec, hf_outputs=True)
