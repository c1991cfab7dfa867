"""The torchvision export: a run's ResNet (or other torchvision backbone) as the
state_dict that `torchvision.models.NAME()` loads, the classifier left out."""

from __future__ import annotations

from pathlib import Path

import torch

from contrastkit.errors import ContrastkitError

__all__ = ["export_torchvision", "torchvision_arch"]

_BUILTIN = ("resnet18", "resnet34", "resnet50")


def torchvision_arch(backbone: str) -> str | None:
    """The torchvision model name of `model.backbone`, or None for other backbones."""
    if backbone in _BUILTIN:
        return backbone
    return backbone.split(":", 1)[1] if backbone.startswith("torchvision:") else None


def export_torchvision(run_dir: Path, out: Path) -> None:
    """Write out/NAME.pth: `torchvision.models.NAME().load_state_dict(sd, strict=False)`
    loads every weight, only the classifier (fc for ResNets) missing.

    Raises:
        ContrastkitError: the backbone is not a torchvision model, or was rebuilt so that
            it no longer fits torchvision's (a 3x3 small-input stem, 1-channel input).
    """
    import torchvision.models as tvm
    from safetensors.torch import load_file

    from contrastkit.pipeline.settings import read_run_config

    cfg = read_run_config(run_dir)
    backbone = str(getattr(cfg.model, "backbone", "") or "")
    arch = torchvision_arch(backbone)
    if cfg.data.modality not in ("image", "image-text") or arch is None:
        what = backbone or f"a {cfg.data.modality} encoder"
        raise ContrastkitError(
            f"the torchvision format holds torchvision backbones (model.backbone resnet18/34/50 "
            f"or torchvision:NAME), and this run's model is {what}; use --format safetensors"
        )
    weights = load_file(str(run_dir / "encoder.safetensors"))
    prefix = "model." if backbone.startswith("torchvision:") else ""
    state = {k.removeprefix(prefix): v for k, v in weights.items()}
    reference = tvm.get_model(arch, weights=None).state_dict()
    for key, value in state.items():
        if key not in reference or reference[key].shape != value.shape:
            want = tuple(reference[key].shape) if key in reference else "no such weight"
            raise ContrastkitError(
                f"this {backbone} does not fit torchvision.models.{arch}: {key} is "
                f"{tuple(value.shape)}, torchvision's {want} (a small-input stem or 1-channel "
                f"input); train with model.backbone=torchvision:{arch} to export it"
            )
    out.mkdir(parents=True, exist_ok=True)
    torch.save(state, out / f"{arch}.pth")
