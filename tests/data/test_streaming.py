"""Image folders streamed from disk: the same pixels, labels and batches as the in-memory
reader for the same seed, exact resume mid-epoch, unreadable files skipped and counted,
and the in-memory / streaming choice made by `data.max_memory`."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.data.file_images import FileImages
from contrastkit.data.folder import load_image_folder
from contrastkit.data.folder_stream import parse_bytes, stream_image_folder
from contrastkit.data.idx import load_fashion_mnist
from contrastkit.errors import ConfigError
from contrastkit.train.stream_batches import StreamingImageBatches
from contrastkit.views.pipeline import ImageViews
from tests.data.helpers import assert_same_batches, fit_streamed


@functools.cache
def _fashion_subset() -> tuple[np.ndarray, np.ndarray]:
    data = load_fashion_mnist("test")
    keep = torch.arange(0, 3000, 10)  # 300 real images, all ten classes
    return data.images[keep, 0].numpy(), data.labels[keep].numpy()


def write_jpeg_folder(root: Path, corrupt: bool = False) -> Path:
    """300 Fashion-MNIST test images as JPEG files in one subfolder per class."""
    images, labels = _fashion_subset()
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        (root / f"c{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / f"c{label}" / f"{i:04d}.jpg", quality=90)
    if corrupt:
        (root / "c3" / "0999.jpg").write_bytes(b"\xff\xd8 not a jpeg at all" * 10)
    return root


def test_streamed_folder_reads_the_pixels_of_the_in_memory_reader(tmp_path: Path) -> None:
    folder = write_jpeg_folder(tmp_path / "f")
    memory, streamed = load_image_folder(folder), stream_image_folder(folder)
    assert isinstance(streamed.images, FileImages)
    assert streamed.images.shape == memory.images.shape == (300, 1, 28, 28)
    assert streamed.ids == memory.ids and streamed.classes == memory.classes
    assert torch.equal(streamed.labels, memory.labels)
    index = torch.tensor([5, 0, 299, 17])
    assert torch.equal(streamed.images[index], memory.images[index])
    assert torch.equal(streamed.images[10:20], memory.images[10:20])
    part = streamed.subset(index)  # a subset stays on disk
    assert isinstance(part.images, FileImages) and torch.equal(part.images[:], memory.images[index])


@pytest.mark.parametrize("workers", [0, 2])
def test_streaming_and_in_memory_give_the_same_batches(tmp_path: Path, workers: int) -> None:
    folder = write_jpeg_folder(tmp_path / "f")
    assert_same_batches(load_image_folder(folder), stream_image_folder(folder), workers)


def _fit(folder: Path, run_dir: Path | None, stop: int | None = None, resume: bool = False):
    return fit_streamed(stream_image_folder(folder), run_dir, 12, stop, resume)


def test_a_streamed_run_resumes_exactly_mid_epoch(tmp_path: Path) -> None:
    folder = write_jpeg_folder(tmp_path / "f")  # 300 images, 9 batches of 32 an epoch
    straight = _fit(folder, None)
    _fit(folder, tmp_path / "run", stop=4)  # paused inside the first epoch
    resumed = _fit(folder, tmp_path / "run", resume=True)
    for a, b in zip(resumed, straight, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    shorter = _fit(folder, None, stop=11)  # the comparison can fail: one step fewer differs
    assert any(not torch.equal(a, b) for a, b in zip(shorter, straight, strict=True))


def test_an_unreadable_file_is_skipped_and_counted(tmp_path: Path) -> None:
    folder = write_jpeg_folder(tmp_path / "f", corrupt=True)
    data = stream_image_folder(folder)
    bad = data.ids.index("c3/0999.jpg")
    skipped: list = []
    source = StreamingImageBatches(data, ImageViews.simclr(28), workers=0, skipped=skipped)
    with pytest.warns(UserWarning, match="0999.jpg"):
        batch = source.batch(torch.tensor([bad, 0, 1]), torch.Generator())
    assert batch.views[0].shape == (3, 1, 28, 28)
    assert skipped == [("c3/0999.jpg", skipped[0][1])] and "cannot identify" in skipped[0][1]


def test_sizes_parse_and_bad_sizes_are_named() -> None:
    assert parse_bytes("4GB") == 4_000_000_000 and parse_bytes("512MiB") == 512 * 2**20
    assert parse_bytes("0") == 0 and parse_bytes(1000) == 1000
    with pytest.raises(ConfigError, match="'4 bananas' is not a size"):
        parse_bytes("4 bananas")


def test_train_streams_a_folder_over_max_memory_and_evaluates(tmp_path: Path, capsys) -> None:
    from tests.modalities.helpers import train_and_evaluate

    folder = write_jpeg_folder(tmp_path / "f", corrupt=True)
    fit, scores = train_and_evaluate(
        tmp_path / "run", data__dataset=str(folder), data__max_memory="100kB",
        data__holdout=30, data__monitor_bank=100, model__widths=[8, 16], train__steps=6,
        train__batch_size=32, eval__knn_k=10, eval__linear=False,
    )  # fmt: skip
    err = capsys.readouterr().err
    assert "0 MB of training images decoded, data.max_memory 100kB: streamed from disk" in err
    assert fit.steps == 6
    assert 0.0 <= scores[("contrastkit simclr", "knn_top1")] <= 1.0
    assert 0.0 <= scores[("raw pixels", "knn_top1")] <= 1.0
    summary = (tmp_path / "run" / "summary.json").read_text()
    assert "0999.jpg" in summary  # the unreadable file, counted once met

    fit, _ = train_and_evaluate(
        tmp_path / "run2", data__dataset=str(folder), data__holdout=30,
        data__monitor_bank=100, model__widths=[8, 16], train__steps=2, train__batch_size=32,
    )  # fmt: skip
    assert "decoded, data.max_memory 4GB: decoded into memory" in capsys.readouterr().err
