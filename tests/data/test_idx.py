from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from contrastkit.data.idx import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DEFAULT_ROOT,
    load_fashion_mnist,
    read_idx,
)
from contrastkit.errors import ConfigError, DataFormatError, DatasetNotFoundError
from tests.data.helpers import idx_bytes, write_fake_fashion_mnist, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _values(dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_read_idx_round_trip(tmp_path: Path, dtype: type, compress: bool) -> None:
    expected = _values(dtype, (3, 4, 5))
    path = write_idx(tmp_path / "data.idx", expected, compress=compress)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype)
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, expected)
    got[0, 0, 0] = 0  # writable, so torch.from_numpy does not warn


@pytest.mark.parametrize("shape", [(7,), (2, 3), (0, 28, 28), (1, 2, 3, 4)])
def test_read_idx_shapes(tmp_path: Path, shape: tuple[int, ...]) -> None:
    expected = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    assert read_idx(write_idx(tmp_path / "a", expected, compress=False)).shape == shape


def test_gzip_detected_by_magic_not_name(tmp_path: Path) -> None:
    expected = np.arange(10, dtype=np.uint8)
    gz_named_plain = write_idx(tmp_path / "labels-idx1-ubyte", expected, compress=True)
    plain_named_gz = write_idx(tmp_path / "labels-idx1-ubyte.gz", expected, compress=False)
    np.testing.assert_array_equal(read_idx(gz_named_plain), expected)
    np.testing.assert_array_equal(read_idx(plain_named_gz), expected)


def _corrupt(tmp_path: Path, data: bytes, compress: bool = False) -> Path:
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_bad_magic_names_file(tmp_path: Path, compress: bool) -> None:
    data = b"\x01\x00" + idx_bytes(np.zeros(4, dtype=np.uint8))[2:]
    path = _corrupt(tmp_path, data, compress)
    with pytest.raises(DataFormatError, match=r"broken-idx3-ubyte.*not an IDX file"):
        read_idx(path)


def test_unknown_type_code(tmp_path: Path) -> None:
    data = bytearray(idx_bytes(np.zeros(4, dtype=np.uint8)))
    data[2] = 0x0A
    with pytest.raises(DataFormatError, match=r"broken-idx3-ubyte.*type code 0x0A"):
        read_idx(_corrupt(tmp_path, bytes(data)))


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("delta", [-1, -40, 3], ids=["one-short", "truncated", "trailing"])
def test_data_length_mismatch_says_expected_and_got(
    tmp_path: Path, compress: bool, delta: int
) -> None:
    full = idx_bytes(np.zeros((5, 4, 4), dtype=np.int16))  # 160 data bytes
    data = full[:delta] if delta < 0 else full + b"\x00" * delta
    path = _corrupt(tmp_path, data, compress)
    with pytest.raises(DataFormatError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    assert "expected 160" in message
    assert f"got {160 + delta}" in message


def test_truncated_header(tmp_path: Path) -> None:
    data = idx_bytes(np.zeros((2, 2, 2), dtype=np.uint8))[:9]
    with pytest.raises(DataFormatError, match=r"broken-idx3-ubyte.*3 dimensions"):
        read_idx(_corrupt(tmp_path, data))


def test_broken_gzip_stream(tmp_path: Path) -> None:
    compressed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataFormatError, match=r"cut\.gz.*gzip"):
        read_idx(path)


def test_missing_idx_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"nothing\.idx"):
        read_idx(tmp_path / "nothing.idx")


# Fashion-MNIST on disk (Debian package dataset-fashion-mnist).


@pytest.fixture(scope="module")
def real_root() -> Path:
    root = Path(os.environ.get("CONTRASTKIT_FASHION_MNIST") or FASHION_MNIST_DEFAULT_ROOT)
    if not (root / "t10k-labels-idx1-ubyte.gz").exists():
        message = f"Fashion-MNIST not installed at {root} (apt-get install dataset-fashion-mnist)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.mark.parametrize(("split", "n"), [("train", 60_000), ("test", 10_000)])
def test_real_fashion_mnist(real_root: Path, split: str, n: int) -> None:
    start = time.perf_counter()
    data = load_fashion_mnist(split, root=real_root)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"loading {split} took {elapsed:.2f}s"
    assert data.images.shape == (n, 1, 28, 28)
    assert data.images.dtype == torch.uint8
    assert int(data.images.min()) == 0 and int(data.images.max()) == 255
    assert data.labels is not None and data.labels.dtype == torch.int64
    assert data.labels.bincount().tolist() == [n // 10] * 10
    assert data.classes == FASHION_MNIST_CLASSES and len(data.classes) == 10
    assert data.name == "fashion-mnist"
    assert data.ids[0] == f"{split}/00000" and data.ids[42] == f"{split}/00042"
    assert len(set(data.ids)) == n


def test_env_var_sets_default_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_fake_fashion_mnist(tmp_path / "fm", n_train=6, n_test=4)
    monkeypatch.setenv("CONTRASTKIT_FASHION_MNIST", str(root))
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    assert train.images.shape == (6, 1, 28, 28) and len(test) == 4
    assert train.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert int(train.images[0, 0, 0, 1]) == 1


def test_explicit_root_beats_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRASTKIT_FASHION_MNIST", str(tmp_path / "elsewhere"))
    root = write_fake_fashion_mnist(tmp_path / "fm", n_train=3)
    assert len(load_fashion_mnist("train", root=root)) == 3


def test_uncompressed_file_names(tmp_path: Path) -> None:
    root = write_fake_fashion_mnist(tmp_path, n_test=5)
    for gz in root.glob("t10k-*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    assert len(load_fashion_mnist("test", root=root)) == 5


def test_missing_files_say_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRASTKIT_FASHION_MNIST", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist("train")
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "CONTRASTKIT_FASHION_MNIST" in message and "--data-dir" in message


def test_missing_labels_file_is_named(tmp_path: Path) -> None:
    root = write_fake_fashion_mnist(tmp_path)
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_fashion_mnist("test", root=root)


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    root = write_fake_fashion_mnist(tmp_path, n_train=6)
    write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(5, dtype=np.uint8), compress=True)
    with pytest.raises(DataFormatError, match=r"6 images.*5 labels"):
        load_fashion_mnist("train", root=root)


def test_unknown_split(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="split"):
        load_fashion_mnist("validation", root=write_fake_fashion_mnist(tmp_path))
