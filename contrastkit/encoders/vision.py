"""Vision encoders: a compact CNN for small images and torchvision ResNets; backbones of
torchvision, timm and Hugging Face by name (`contrastkit.encoders.backbones`).

Every encoder maps (B, C, H, W) images to (B, output_dim) features and carries an
`output_dim` attribute; `as_encoder` wraps any user nn.Module the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.encoders.backbones import BUILTIN_BACKBONES, backbone_kind, build_backbone
from contrastkit.encoders.weights import load_backbone_weights
from contrastkit.errors import ConfigError


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class GridAvgPool(nn.Module):
    """`nn.AdaptiveAvgPool2d(size)`, with a faster exact path when the map is one larger.

    An n-side map pooled to n - 1 averages every 2x2 window (stride 1); CPU kernels for
    that backward pass are slow (5.4 ms vs 1.5 ms for 512x256x3x3 in bf16, channels-last),
    so it is done with two slice sums (the same sums; in bf16 the partial sums are rounded
    to bf16, where the kernel accumulates in float), and the backward pass writes the
    gradient in the input's memory format (autograd's slice backward gives a contiguous
    one, which makes the ReLU backward before it 30x slower on a channels-last map). Other
    sizes use `adaptive_avg_pool2d`.

    Shapes: (B, C, H, W) -> (B, C, size, size).
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2] == x.shape[-1] == self.size + 1:
            return _WindowMean2x2.apply(x)
        return nn.functional.adaptive_avg_pool2d(x, self.size)


class _WindowMean2x2(torch.autograd.Function):
    """Mean of every 2x2 window at stride 1: (B, C, n, n) -> (B, C, n - 1, n - 1)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.shape, ctx.dtype = x.shape, x.dtype
        ctx.channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
        rows = x[..., :-1, :] + x[..., 1:, :]
        return (rows[..., :-1] + rows[..., 1:]) * 0.25

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        fmt = torch.channels_last if ctx.channels_last else torch.contiguous_format
        g = (grad * 0.25).to(ctx.dtype)
        out = torch.empty(ctx.shape, dtype=ctx.dtype, device=grad.device, memory_format=fmt)
        out.zero_()
        for rows in (slice(None, -1), slice(1, None)):
            for cols in (slice(None, -1), slice(1, None)):
                out[..., rows, cols] += g
        return out


class CompactCNN(nn.Module):
    """A VGG-style CNN for small images (28x28 to 64x64) that trains fast on a CPU.

    Each stage is `blocks` 3x3 conv-BN-ReLU layers; stages after the first start with
    2x2 max-pooling, applied before the previous stage's last ReLU (max-pooling commutes
    with ReLU, so values and gradients are those of conv-BN-ReLU-pool, with the ReLU on a
    quarter of the map; parameter names are unchanged); average pooling to a `pool_size` x
    `pool_size` grid, flattened, gives the representation. `pool_size=1` is global average
    pooling; 2 keeps a coarse layout (top/bottom, left/right), which helps on aligned images
    such as Fashion-MNIST.

    Args:
        in_channels: image channels (1 for grayscale, 3 for RGB).
        widths: channels of each stage.
        blocks: conv layers per stage (an int for all stages, or one per stage).
        pool_size: side of the final average-pooling grid.

    Shapes: (B, in_channels, H, W) -> (B, widths[-1] * pool_size**2) = (B, output_dim).

    Example:
        >>> enc = CompactCNN(in_channels=1)
        >>> enc(torch.randn(2, 1, 28, 28)).shape
        torch.Size([2, 256])
    """

    def __init__(
        self,
        in_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128, 256),
        blocks: int | Sequence[int] = 1,
        pool_size: int = 1,
    ) -> None:
        super().__init__()
        if pool_size < 1:
            raise ValueError(f"pool_size must be >= 1, got {pool_size}")
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be a non-empty list of positive ints, got {widths}")
        per_stage = [blocks] * len(widths) if isinstance(blocks, int) else list(blocks)
        if len(per_stage) != len(widths) or min(per_stage) < 1:
            raise ValueError(
                f"blocks must be >= 1 for each of the {len(widths)} stages, got {blocks}"
            )
        layers: list[nn.Module] = []
        c = in_channels
        for i, (width, n) in enumerate(zip(widths, per_stage, strict=True)):
            if i > 0:  # pool before the last ReLU: the same values, a quarter of its work
                layers.insert(len(layers) - 1, nn.MaxPool2d(2, ceil_mode=True))
            for _ in range(n):
                layers += _conv_bn_relu(c, width)
                c = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.Sequential(GridAvgPool(pool_size), nn.Flatten())
        self.output_dim = c * pool_size * pool_size
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.features(x))


def resnet(name: str = "resnet18", in_channels: int = 3, small_input: bool = False) -> nn.Module:
    """A torchvision ResNet without its classifier, randomly initialised.

    Args:
        name: "resnet18", "resnet34" or "resnet50".
        in_channels: image channels; the stem is rebuilt when it is not 3.
        small_input: replace the 7x7 stride-2 stem and max-pool by a 3x3 stride-1 conv
            (the CIFAR variant of SimCLR [1], appendix B.9), for images under ~64 px.

    Shapes: (B, in_channels, H, W) -> (B, 512) for resnet18/34, (B, 2048) for resnet50.

    [1] Chen et al., ICML 2020.
    """
    import torchvision.models as tvm

    builders = {"resnet18": tvm.resnet18, "resnet34": tvm.resnet34, "resnet50": tvm.resnet50}
    if name not in builders:
        raise ValueError(f"name must be one of {sorted(builders)}, got {name!r}")
    model = builders[name](weights=None)
    if small_input:
        model.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    model.output_dim = model.fc.in_features
    model.fc = nn.Identity()
    return model


def infer_output_dim(module: nn.Module, input_shape: Sequence[int]) -> int:
    """Run one dummy batch of shape (2, *input_shape) in eval mode and read the feature size."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            param = next(module.parameters(), None)
            device = param.device if param is not None else "cpu"
            out = module(torch.zeros(2, *input_shape, device=device))
    finally:
        module.train(was_training)
    if not isinstance(out, Tensor) or out.ndim != 2:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"an encoder must return (B, D) features, this one returned {shape}")
    return out.shape[1]


def as_encoder(module: nn.Module, input_shape: Sequence[int] | None = None) -> nn.Module:
    """Accept any nn.Module mapping (B, ...) inputs to (B, D) features as an encoder.

    Sets `module.output_dim` from a dummy forward pass on `input_shape` (C, H, W) unless
    the module already has it.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"an encoder must be a torch.nn.Module, got {type(module).__name__}")
    if getattr(module, "output_dim", None) is None:
        if input_shape is None:
            raise ValueError("input_shape is needed to infer the output_dim of a custom encoder")
        module.output_dim = infer_output_dim(module, input_shape)
    return module


VISION_BACKBONES = BUILTIN_BACKBONES


def build_vision_encoder(
    name: str,
    in_channels: int,
    *,
    small_input: bool = True,
    widths: Sequence[int] = (32, 64, 128, 256),
    blocks: int | Sequence[int] = 1,
    pool_size: int = 1,
    weights: str | Path | None = None,
    pretrained: bool = True,
    image_size: int | None = None,
    patch_size: int | None = None,
    backbone_args: dict[str, Any] | None = None,
) -> nn.Module:
    """Build a backbone by name: "compact_cnn", a torchvision ResNet ("resnet18/34/50"), or
    one of another library: "torchvision:NAME", "timm:NAME", a Hugging Face model folder
    (`contrastkit.encoders.backbones`).

    `small_input`, `widths`, `blocks` and `pool_size` shape the built-in backbones; `weights`
    (a local state dict, loaded when `pretrained`), `image_size`, `patch_size` and
    `backbone_args` the others (`weights` also fits the built-in ones).

    Raises:
        ValueError: an unknown name.
        ConfigError: `weights` that do not fit, an argument the backbone does not take.
    """
    kind = backbone_kind(name)
    if kind not in ("builtin", "unknown"):
        external = build_backbone(
            name, weights=weights, pretrained=pretrained, image_size=image_size,
            patch_size=patch_size, kwargs=backbone_args,
        )  # fmt: skip
        if in_channels not in (1, external.input_spec.channels):
            raise ConfigError(
                f"config key 'model.backbone': {name} takes {external.input_spec.channels}-"
                f"channel images, the data has {in_channels} channels"
            )
        return external
    if name == "compact_cnn":
        model = CompactCNN(in_channels, widths, blocks, pool_size)
    elif name in VISION_BACKBONES:
        model = resnet(name, in_channels, small_input)
    else:
        raise ValueError(f"backbone must be one of {list(VISION_BACKBONES)}, got {name!r}")
    if weights is not None and pretrained:
        load_backbone_weights(model, weights, backbone=name, ignore=("fc.",))
    return model
