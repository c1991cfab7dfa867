from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.data.folder import load_image_folder
from contrastkit.errors import ConfigError, DataFormatError, DatasetNotFoundError
from tests.data.helpers import write_image


def test_flat_folder_is_unlabelled(tmp_path: Path) -> None:
    for name, value in [("b.png", 20), ("a.png", 10), ("c.PNG", 30)]:
        write_image(tmp_path / name, size=(5, 4), value=value)
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_image_folder(tmp_path)
    assert data.images.shape == (3, 1, 4, 5) and data.images.dtype == torch.uint8
    assert data.ids == ["a.png", "b.png", "c.PNG"]
    assert data.images[:, 0, 0, 0].tolist() == [10, 20, 30]  # PNG is lossless
    assert data.labels is None and data.classes is None
    assert data.name == tmp_path.name and data.skipped == []


def test_class_subfolders_give_labels(tmp_path: Path) -> None:
    write_image(tmp_path / "dog" / "1.jpg")
    write_image(tmp_path / "dog" / "2.png")
    write_image(tmp_path / "cat" / "x.JPEG")
    write_image(tmp_path / "cat" / "y.bmp")
    write_image(tmp_path / "cat" / "nested" / "z.webp")
    write_image(tmp_path / "cat" / ".hidden.png")
    write_image(tmp_path / ".cache" / "ignored.png")
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "README.md").write_text("loose non-image files are fine")
    data = load_image_folder(tmp_path)
    assert data.classes == ["cat", "dog"]
    assert data.ids == ["cat/nested/z.webp", "cat/x.JPEG", "cat/y.bmp", "dog/1.jpg", "dog/2.png"]
    assert data.labels is not None and data.labels.dtype == torch.int64
    assert data.labels.tolist() == [0, 0, 0, 1, 1]


def test_a_class_folder_with_one_image_is_named(tmp_path: Path) -> None:
    write_image(tmp_path / "dog" / "1.jpg")
    write_image(tmp_path / "cat" / "x.png")
    write_image(tmp_path / "cat" / "y.png")
    with pytest.raises(DataFormatError, match=r"class folder\(s\) dog in .* fewer than 2"):
        load_image_folder(tmp_path)


def test_loose_images_beside_class_folders_are_an_error(tmp_path: Path) -> None:
    write_image(tmp_path / "cat" / "a.png")
    write_image(tmp_path / "stray.png")
    with pytest.raises(DataFormatError, match=r"stray\.png.*cat"):
        load_image_folder(tmp_path)


def _png_bytes(size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(size[1], size[0]), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_unreadable_files_are_skipped_counted_and_warned(tmp_path: Path) -> None:
    for name in ("good1.png", "good2.png"):
        write_image(tmp_path / name)
    rng = np.random.default_rng(1)
    (tmp_path / "noise.png").write_bytes(rng.bytes(300))
    (tmp_path / "text.jpg").write_text("this is not a JPEG")
    png = _png_bytes()
    (tmp_path / "truncated.png").write_bytes(png[: len(png) // 2])
    with pytest.warns(UserWarning, match="skipped 3 unreadable") as record:
        data = load_image_folder(tmp_path)
    assert len(record) == 1
    message = str(record[0].message)
    for name in ("noise.png", "text.jpg", "truncated.png"):
        assert name in message
    assert data.ids == ["good1.png", "good2.png"] and len(data) == 2
    assert [name for name, _ in data.skipped] == ["noise.png", "text.jpg", "truncated.png"]
    assert all(reason for _, reason in data.skipped)


def test_permission_denied_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_image(tmp_path / "ok.png")
    locked = write_image(tmp_path / "locked.png")
    real_open = Image.open

    def guarded_open(fp, *args, **kwargs):  # chmod 000 does not stop root, so simulate it
        if Path(fp) == locked:
            raise PermissionError(13, "Permission denied", str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", guarded_open)
    with pytest.warns(UserWarning, match="locked.png"):
        data = load_image_folder(tmp_path)
    assert data.ids == ["ok.png"]
    assert data.skipped[0][0] == "locked.png" and "PermissionError" in data.skipped[0][1]


def test_many_skipped_files_are_summarised(tmp_path: Path) -> None:
    write_image(tmp_path / "good.png")
    for i in range(8):
        (tmp_path / f"bad{i}.png").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match=r"skipped 8 .*bad0\.png.*and 3 more"):
        data = load_image_folder(tmp_path)
    assert len(data.skipped) == 8


def test_mixed_sizes_need_image_size(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", size=(8, 6))
    write_image(tmp_path / "b.png", size=(8, 6))
    write_image(tmp_path / "c.png", size=(10, 7))
    with pytest.raises(DataFormatError, match=r"c\.png is 10x7.*image_size.*--image-size"):
        load_image_folder(tmp_path)
    assert load_image_folder(tmp_path, image_size=12).images.shape == (3, 1, 12, 12)
    assert load_image_folder(tmp_path, image_size=(5, 9)).images.shape == (3, 1, 5, 9)


def test_channels_follow_the_images(tmp_path: Path) -> None:
    write_image(tmp_path / "gray.png", mode="L", value=77)
    assert load_image_folder(tmp_path).channels == 1
    write_image(tmp_path / "rgb.png", mode="RGB", value=(255, 0, 0))
    data = load_image_folder(tmp_path)
    assert data.channels == 3
    assert data.images[0, :, 0, 0].tolist() == [77, 77, 77]  # gray repeated on 3 channels
    assert data.images[1, :, 0, 0].tolist() == [255, 0, 0]


def test_channels_can_be_forced(tmp_path: Path) -> None:
    write_image(tmp_path / "rgb.png", mode="RGB", value=(255, 0, 0))
    write_image(tmp_path / "rgba.png", mode="RGBA", value=(0, 255, 0, 128))
    write_image(tmp_path / "palette.png", mode="P", value=3)
    gray = load_image_folder(tmp_path, channels=1)
    assert gray.images.shape == (3, 1, 6, 8)
    assert gray.ids[1] == "rgb.png" and gray.images[1, 0, 0, 0] == 76  # luma of red
    assert load_image_folder(tmp_path, channels=3).images.shape == (3, 3, 6, 8)
    for path in tmp_path.iterdir():
        path.unlink()
    write_image(tmp_path / "gray.png", mode="L")
    assert load_image_folder(tmp_path, channels=3).images.shape == (1, 3, 6, 8)


def test_sixteen_bit_grayscale_is_scaled(tmp_path: Path) -> None:
    Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    data = load_image_folder(tmp_path)
    assert data.channels == 1 and int(data.images.max()) == 255


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DataFormatError, match=rf"no image files.*{re.escape(str(tmp_path))}"):
        load_image_folder(tmp_path)


def test_no_readable_image(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(
        DataFormatError, match=f"none of the 1 image files in {re.escape(str(tmp_path))}"
    ):
        load_image_folder(tmp_path)


def test_missing_and_non_folder_paths(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="missing"):
        load_image_folder(tmp_path / "missing")
    file = write_image(tmp_path / "one.png")
    with pytest.raises(DataFormatError, match="not a folder"):
        load_image_folder(file)


@pytest.mark.parametrize(
    ("image_size", "channels"), [(0, None), ((4, 4, 4), None), ((4, -1), None), (None, 2)]
)
def test_invalid_options(tmp_path: Path, image_size: object, channels: object) -> None:
    write_image(tmp_path / "a.png")
    with pytest.raises(ConfigError):
        load_image_folder(tmp_path, image_size=image_size, channels=channels)
