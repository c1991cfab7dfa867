"""torchvision export: a torchvision:resnet18 run's weights load into
`torchvision.models.resnet18()` with only fc missing and give the run's features; other
backbones are refused in one sentence."""

from __future__ import annotations

import pytest
import torch
import torchvision

from contrastkit.errors import ContrastkitError
from contrastkit.export import export
from contrastkit.export.tensor_model import tensor_model


def test_resnet18_state_dict_loads_into_torchvision(tiny_runs, tmp_path) -> None:
    run, _ = tiny_runs("resnet")
    out = export(run, "torchvision", tmp_path / "tv")
    model = torchvision.models.resnet18()
    missing, unexpected = model.load_state_dict(torch.load(out / "resnet18.pth"), strict=False)
    assert sorted(missing) == ["fc.bias", "fc.weight"] and unexpected == []
    model.fc = torch.nn.Identity()
    run_model = tensor_model(run)
    x = run_model.example  # (8, 1, 8, 8) digits; the run's encoder repeats grey to RGB
    with torch.no_grad():
        ref = run_model.module(x)
        got = model.eval()(x.expand(-1, 3, -1, -1))
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)
    assert "torchvision.models.resnet18()" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    ("kind", "says"),
    [("image", "this run's model is compact_cnn"), ("resnet-small", "does not fit torchvision")],
)
def test_other_backbones_are_refused_in_one_sentence(tiny_runs, tmp_path, kind, says) -> None:
    run, _ = tiny_runs(kind)
    with pytest.raises(ContrastkitError, match=says) as caught:
        export(run, "torchvision", tmp_path / "tv")
    assert "\n" not in str(caught.value) and not (tmp_path / "tv").exists()
