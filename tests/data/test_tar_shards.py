"""WebDataset-style tar shards: the pixels, labels and ids of the same images written as a
folder, the same batches streamed or in memory for the same seed, exact resume mid-epoch,
a corrupt member replaced and counted, and `contrastkit train --dataset <shards>`."""

from __future__ import annotations

import functools
import json
import tarfile
import warnings
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from contrastkit.cli import app
from contrastkit.data.folder import load_image_folder
from contrastkit.data.registry import load_dataset
from contrastkit.data.tar_shards import TarImages, expand_braces, stream_tar_shards
from contrastkit.errors import ConfigError, DataFormatError, DatasetNotFoundError
from contrastkit.modalities.registry import detect_modality
from contrastkit.train.stream_batches import StreamingImageBatches
from contrastkit.views.pipeline import ImageViews
from tests.data.helpers import (
    assert_same_batches,
    fashion_subset,
    fit_streamed,
    write_png_folder,
    write_shards,
)

fashion = functools.cache(fashion_subset)  # 300 real images, all ten classes


def _shards(tmp: Path, **kw) -> Path:
    images, labels = fashion()
    return write_shards(tmp / "shards", images, labels, **kw)  # 3 shards of 100


def test_braces_expand_ranges_and_lists() -> None:
    assert expand_braces("s/a-{008..010}.tar") == ["s/a-008.tar", "s/a-009.tar", "s/a-010.tar"]
    assert expand_braces("{train,val}-{0..1}.tar") == [
        "train-0.tar", "train-1.tar", "val-0.tar", "val-1.tar"
    ]  # fmt: skip


def test_shards_read_the_pixels_and_labels_of_the_same_images_as_a_folder(tmp_path) -> None:
    images, labels = fashion()
    folder = load_image_folder(write_png_folder(tmp_path / "f", images, labels))
    shards = stream_tar_shards(_shards(tmp_path))
    assert isinstance(shards.images, TarImages) and shards.images.shape == (300, 1, 28, 28)
    assert shards.ids[:2] == ["train-000000/0000", "train-000000/0001"]
    assert shards.ids[150] == "train-000001/0150" and shards.name == "shards"
    by_name = {i.split("/")[1]: i for i in folder.ids}  # c3/0007.png -> 0007.png
    rows = [folder.ids.index(by_name[f"{i.split('/')[1]}.png"]) for i in shards.ids]
    assert torch.equal(shards.images[:], folder.images[rows])
    assert torch.equal(shards.labels, folder.labels[rows])
    assert torch.equal(shards.labels, torch.from_numpy(labels).long())
    memory = load_dataset(str(tmp_path / "shards"))  # decoded into a tensor
    assert isinstance(memory.images, torch.Tensor) and torch.equal(memory.images, images_t())
    pattern = stream_tar_shards(str(tmp_path / "shards" / "train-{000000..000002}.tar"))
    single = stream_tar_shards(tmp_path / "shards" / "train-000001.tar")
    assert pattern.ids == shards.ids and single.ids == shards.ids[100:200]
    assert torch.equal(single.images[[0, 99]], shards.images[[100, 199]])


def images_t() -> torch.Tensor:
    return torch.from_numpy(fashion()[0])[:, None]


def test_json_labels_with_class_names_and_unlabelled_shards(tmp_path) -> None:
    images, labels = fashion()
    named = stream_tar_shards(write_shards(tmp_path / "j", images, labels, label_as="json"))
    assert named.classes == [f"c{k}" for k in range(10)]
    assert torch.equal(named.labels, torch.from_numpy(labels).long())
    bare = stream_tar_shards(write_shards(tmp_path / "u", images[:20], None))
    assert bare.labels is None and bare.classes is None and len(bare) == 20


@pytest.mark.parametrize("workers", [0, 2])
def test_streamed_and_in_memory_shards_give_the_same_batches(tmp_path, workers: int) -> None:
    root = _shards(tmp_path)
    assert_same_batches(load_dataset(str(root)), stream_tar_shards(root), workers)


def _fit(root: Path, run_dir: Path | None, stop: int | None = None, resume: bool = False):
    return fit_streamed(stream_tar_shards(root), run_dir, 12, stop, resume)


def test_a_run_streamed_from_shards_resumes_exactly_mid_epoch(tmp_path, one_thread) -> None:
    root = _shards(tmp_path)  # 300 images, 9 batches of 32 an epoch: 12 steps cross one
    straight = _fit(root, None)
    _fit(root, tmp_path / "run", stop=4)  # paused inside the first epoch
    resumed = _fit(root, tmp_path / "run", resume=True)
    for a, b in zip(resumed, straight, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    shorter = _fit(root, None, stop=11)  # the comparison can fail: one step fewer differs
    assert any(not torch.equal(a, b) for a, b in zip(shorter, straight, strict=True))


def _corrupt(root: Path, item: int) -> str:
    """Overwrite item `item`'s PNG bytes inside its shard (the tar stays valid)."""
    store = stream_tar_shards(root).images
    with open(store.shards[store.shard[item]], "r+b") as f:
        f.seek(int(store.offset[item]))
        f.write(b"\x00not a png" * (int(store.length[item]) // 10))
    return store.ids[item]


def test_a_corrupt_member_is_replaced_warned_and_listed(tmp_path) -> None:
    root = _shards(tmp_path)
    bad_id = _corrupt(root, 7)
    data = stream_tar_shards(root)
    skipped: list = []
    source = StreamingImageBatches(data, ImageViews.simclr(28), workers=0, skipped=skipped)
    with pytest.warns(UserWarning, match="train-000000/0007"):
        batch = source.batch(torch.tensor([7, 0, 1]), torch.Generator())
    assert batch.views[0].shape == (3, 1, 28, 28)
    assert skipped == [(bad_id, skipped[0][1])] and "cannot identify" in skipped[0][1]
    x, _ = data.images.decode([7, 0])
    assert torch.equal(x[0], x[1])  # the row repeats a readable image of the batch
    with pytest.warns(UserWarning, match="skipped 1 unreadable image"):
        memory = load_dataset(str(root))
    assert len(memory) == 299 and bad_id not in memory.ids and memory.skipped[0][0] == bad_id


def test_bad_shards_are_named_in_one_sentence(tmp_path) -> None:
    images, labels = fashion()
    with pytest.raises(DatasetNotFoundError, match="2 of the 3 shards"):
        stream_tar_shards(str(_shards(tmp_path) / "train-{000002..000004}.tar"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.tar").write_bytes(b"not a tar file" * 100)
    with pytest.raises(DataFormatError, match="is not a readable tar shard"):
        stream_tar_shards(tmp_path / "junk")
    with tarfile.open(tmp_path / "text.tar", "w") as tar:
        tar.add(__file__, arcname="0001.txt")
    with pytest.raises(DataFormatError, match="no images"):
        stream_tar_shards(tmp_path / "text.tar")
    mixed = write_shards(tmp_path / "m", images[:10], labels[:10])
    write_shards(mixed, images[:5], None, prefix="zz")
    with pytest.raises(DataFormatError, match=r"5 items have no \.cls/\.json label"):
        stream_tar_shards(mixed)
    with pytest.raises(ConfigError, match="tar shards have no 'test' split"):
        load_dataset(str(mixed), "test")


def test_shards_and_brace_patterns_are_images(tmp_path) -> None:
    root = _shards(tmp_path)
    assert detect_modality(str(root)) == "image"
    assert detect_modality(str(root / "train-{000000..000001}.tar")) == "image"
    assert detect_modality(str(root / "train-000000.tar")) == "image"


@pytest.mark.parametrize("budget", ["100kB", "4GB"])
def test_train_on_shards_end_to_end(tmp_path, budget: str) -> None:
    root = _shards(tmp_path)
    bad_id = _corrupt(root, 7)
    run = tmp_path / "run"
    args = [
        "train", "--dataset", str(root / "train-{000000..000002}.tar"), "-o", str(run),
        "--steps", "4", "--batch-size", "32", "--set", "model.widths=[8,16]",
        "--set", f"data.max_memory={budget}", "--set", "data.workers=1", "--set", "data.holdout=30",
        "--set", "data.monitor_bank=100", "--set", "eval.linear=false", "--set", "eval.knn_k=10",
        "--no-progress", "--no-report",
    ]  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    how = "streamed from disk" if budget == "100kB" else "decoded into memory"
    assert f"data.max_memory {budget}: {how}" in result.output and "knn_top1" in result.output
    summary = json.loads((run / "summary.json").read_text())
    if budget == "4GB":  # left out when decoded, listed; streamed: listed once its batch comes
        assert summary["data"].startswith("shards: 209 train / 60 test images")
        assert summary["skipped_files"][0][0] == bad_id
        assert any(bad_id in str(w.message) for w in caught)
