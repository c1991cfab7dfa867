"""Weights files: both formats read, wrappers unwrapped, a dropped head ignored, and every
mismatch reported in one sentence that names the file, the keys and their shapes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from contrastkit.encoders.weights import fit_state_dict, load_backbone_weights, read_state_dict
from contrastkit.errors import ConfigError


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize("form", ["pth", "safetensors", "checkpoint", "ddp"])
def test_weights_load_from_every_form(tmp_path: Path, form: str) -> None:
    state = _net().state_dict()
    path = tmp_path / f"w.{'safetensors' if form == 'safetensors' else 'pth'}"
    if form == "safetensors":
        save_file(state, str(path))
    elif form == "checkpoint":
        torch.save({"state_dict": state, "epoch": 3}, path)
    elif form == "ddp":
        torch.save({f"module.{k}": v for k, v in state.items()}, path)
    else:
        torch.save(state, path)
    target = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    load_backbone_weights(target, path, backbone="test")
    for key, value in state.items():
        torch.testing.assert_close(target.state_dict()[key], value)


def test_keys_of_the_dropped_head_are_ignored() -> None:
    state = {**_net().state_dict(), "fc.weight": torch.zeros(10, 3), "fc.bias": torch.zeros(10)}
    fitted, problem = fit_state_dict(_net(), state, ignore=("fc.",))
    assert problem is None and set(fitted) == set(_net().state_dict())
    _, problem = fit_state_dict(_net(), state)
    assert problem == "2 not in the model (fc.weight, fc.bias)"


def test_a_mismatch_names_the_file_the_keys_and_their_shapes(tmp_path: Path) -> None:
    wider = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3), nn.Linear(3, 3))
    path = tmp_path / "other.pth"
    torch.save(wider.state_dict(), path)
    with pytest.raises(ConfigError) as info:
        load_backbone_weights(_net(), path, backbone="timm:resnet18")
    message = str(info.value)
    assert message.startswith(f"config key 'model.weights': the tensors in {path} do not fit")
    assert "3 with other shapes (0.weight is 16x4 in the file, 8x4 in the model" in message
    assert "2 not in the model (3.weight, 3.bias)" in message
    assert "\n" not in message


def test_a_missing_or_unreadable_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"there is no file {tmp_path / 'none.pth'}")):
        read_state_dict(tmp_path / "none.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=r"junk\.pth is not a readable state dict") as info:
        read_state_dict(tmp_path / "junk.pth")
    assert "\n" not in str(info.value)
    torch.save({"step": 3}, tmp_path / "empty.pth")
    with pytest.raises(ConfigError, match=r"empty\.pth holds no tensors"):
        read_state_dict(tmp_path / "empty.pth")
