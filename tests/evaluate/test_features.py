from __future__ import annotations

import pytest
import torch
from torch import nn

from contrastkit.evaluate import extract_features, raw_features


@pytest.fixture
def images() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (23, 3, 6, 6), dtype=torch.uint8, generator=g)


@pytest.fixture
def encoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 6, 10), nn.BatchNorm1d(10))


def test_matches_direct_call(images, encoder):
    encoder.eval()
    with torch.no_grad():
        expected = encoder(images.float() / 255)
    encoder.train()
    got = extract_features(encoder, images, batch_size=5)
    assert got.dtype == torch.float32 and got.shape == (23, 10)
    torch.testing.assert_close(got, expected)
    assert encoder.training  # mode restored
    assert not got.is_inference() and not got.requires_grad
    (got * torch.ones(10, requires_grad=True)).sum().backward()  # usable with autograd


def test_normalisation_applied(images):
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    got = extract_features(lambda x: x.flatten(1), images, mean=mean, std=std, batch_size=4)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(got, ((images.float() / 255 - m) / s).flatten(1))


def test_float32_from_other_dtypes_and_flattens(images):
    got = extract_features(lambda x: x.double().mean(dim=(2, 3), keepdim=True), images)
    assert got.dtype == torch.float32 and got.shape == (23, 3)
    torch.testing.assert_close(got, images.float().mean(dim=(2, 3)) / 255)


def test_autocast(images, encoder):
    dtypes = []

    def fn(x: torch.Tensor) -> torch.Tensor:
        out = encoder[1](x.flatten(1))
        dtypes.append(out.dtype)
        return out

    got = extract_features(fn, images, autocast_dtype=torch.bfloat16)
    assert dtypes == [torch.bfloat16] and got.dtype == torch.float32
    plain = extract_features(fn, images)
    torch.testing.assert_close(got, plain, atol=0.05, rtol=0.05)


def test_raw_features(images):
    raw = raw_features(images)
    assert raw.dtype == torch.float32 and raw.shape == (23, 108)
    torch.testing.assert_close(raw, images.reshape(23, -1).float() / 255)
    assert float(raw.min()) >= 0.0 and float(raw.max()) <= 1.0


def test_validation(images):
    identity = nn.Flatten()
    with pytest.raises(ValueError, match="uint8"):
        extract_features(identity, images.float())
    with pytest.raises(ValueError, match="uint8"):
        raw_features(images[0])
    with pytest.raises(ValueError, match="together"):
        extract_features(identity, images, mean=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="mean must have one value per channel"):
        extract_features(identity, images, mean=(0.5,), std=(0.2, 0.2, 0.2))
    with pytest.raises(ValueError, match="std must be > 0"):
        extract_features(identity, images, mean=(0.5,) * 3, std=(0.2, 0.0, 0.2))
    with pytest.raises(ValueError, match="batch_size"):
        extract_features(identity, images, batch_size=0)
    with pytest.raises(ValueError, match="fn must return"):
        extract_features(lambda x: x[:1].flatten(1), images)
