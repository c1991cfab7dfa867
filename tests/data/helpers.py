"""Small file writers shared by the data reader tests."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of `array`: header, then big-endian data."""
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    dims = np.asarray(array.shape, dtype=">u4").tobytes()
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, compress: bool) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_fake_fashion_mnist(root: Path, n_train: int = 6, n_test: int = 4) -> Path:
    """Tiny gzip IDX files under Fashion-MNIST's names: counting pixel values, labels i % 10."""
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.arange(n * 28 * 28, dtype=np.int64).reshape(n, 28, 28) % 256
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images.astype(np.uint8), compress=True)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels, compress=True)
    return root


def write_image(
    path: Path, size: tuple[int, int] = (8, 6), mode: str = "L", value: int | tuple = 100
) -> Path:
    """A solid image of `size` (width, height) in `mode`, saved by extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path, format=_format(path))
    return path


def _format(path: Path) -> str:
    ext = path.suffix.lower()
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP"}[ext]


def png_bytes(pixels: np.ndarray) -> bytes:
    """`pixels` (H, W) or (H, W, 3) uint8 as a PNG file's bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def fashion_subset(n: int = 300, step: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """`n` real Fashion-MNIST test images (N, 28, 28) uint8 and labels (N,), all classes."""
    from contrastkit.data.idx import load_fashion_mnist

    data = load_fashion_mnist("test")
    keep = np.arange(0, n * step, step)
    return data.images[keep, 0].numpy(), data.labels[keep].numpy()


def write_png_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Images as c{label}/{i:04d}.png, one subfolder per class."""
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        (root / f"c{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / f"c{label}" / f"{i:04d}.png")
    return root


def write_shards(
    root: Path, images: np.ndarray, labels: np.ndarray | None, per_shard: int = 100,
    label_as: str = "cls", prefix: str = "train",
) -> Path:  # fmt: skip
    """WebDataset shards {prefix}-{k:06d}.tar of `per_shard` items: {i:04d}.png and a
    label member ({i:04d}.cls, or .json {"label": "c<label>"} when label_as="json")."""
    root.mkdir(parents=True, exist_ok=True)
    for k, start in enumerate(range(0, len(images), per_shard)):
        with tarfile.open(root / f"{prefix}-{k:06d}.tar", "w") as tar:
            for i in range(start, min(start + per_shard, len(images))):
                members = {f"{i:04d}.png": png_bytes(images[i])}
                if labels is not None and label_as == "cls":
                    members[f"{i:04d}.cls"] = str(int(labels[i])).encode()
                elif labels is not None:
                    members[f"{i:04d}.json"] = json.dumps({"label": f"c{labels[i]}"}).encode()
                for name, payload in members.items():
                    info = tarfile.TarInfo(name)
                    info.size = len(payload)
                    tar.addfile(info, io.BytesIO(payload))
    return root


def hf_image_dataset(images: np.ndarray, labels: np.ndarray | None) -> Any:
    """A `datasets.Dataset` of PNG-encoded `images` ("image") and ClassLabel "label"."""
    import datasets

    columns: dict[str, Any] = {"image": [{"bytes": png_bytes(x), "path": None} for x in images]}
    features = {"image": datasets.Image()}
    if labels is not None:
        columns["label"] = [int(y) for y in labels]
        features["label"] = datasets.ClassLabel(names=[f"c{k}" for k in range(10)])
    return datasets.Dataset.from_dict(columns, features=datasets.Features(features))


def assert_same_batches(memory_data: Any, streamed_data: Any, workers: int) -> None:
    """In-memory and streamed sources give identical orders, labels, indices and views over
    two epochs of batches of 64 with the same seeds."""
    import torch

    from contrastkit.train.batches import ImageBatches
    from contrastkit.train.stream_batches import StreamingImageBatches
    from contrastkit.views.pipeline import ImageViews

    views = ImageViews.simclr(28, flip_p=0.5)
    memory = ImageBatches(memory_data, views)
    streamed = StreamingImageBatches(streamed_data, views, workers=workers)
    for epoch in range(2):
        a, b = memory.order(epoch, 64), streamed.order(epoch, 64)
        assert torch.equal(a, b)
        g1, g2 = torch.Generator().manual_seed(epoch), torch.Generator().manual_seed(epoch)
        for step in range(len(a) // 64):
            index = a[step * 64 : (step + 1) * 64]
            x, y = memory.batch(index, g1), streamed.batch(index, g2)
            assert torch.equal(x.index, y.index)
            assert (x.labels is None and y.labels is None) or torch.equal(x.labels, y.labels)
            for u, v in zip(x.views, y.views, strict=True):
                assert torch.equal(u, v)


def fit_streamed(
    data: Any, run_dir: Path | None, steps: int, stop: int | None = None, resume: bool = False
) -> list:
    """A tiny SimCLR trained `steps` steps (batch 32, fp32) from a streamed dataset; its
    parameters. `stop`: pause after that step; `resume`: continue from `run_dir`."""
    import torch

    from contrastkit.encoders.vision import CompactCNN
    from contrastkit.methods import SimCLR
    from contrastkit.train.stream_batches import StreamingImageBatches
    from contrastkit.train.trainer import Trainer
    from contrastkit.views.pipeline import ImageViews

    torch.manual_seed(0)
    method = SimCLR(CompactCNN(1, widths=(8, 16)), proj_hidden_dim=32, proj_dim=16)
    trainer = Trainer(method, optimizer="sgd", lr=0.1, batch_size=32, steps=steps,
                      precision="fp32", run_dir=run_dir, checkpoint_every=100, progress=False,
                      device="cpu")  # fmt: skip
    source = StreamingImageBatches(data, ImageViews.simclr(28), workers=1)
    trainer.fit(source, resume=resume, stop_at_step=stop)
    return [p.detach().clone() for p in method.parameters()]
