"""The sentence-transformers export: a text run's model folder (or an image-text run's
trained text tower), which `SentenceTransformer(folder)` loads without warnings."""

from __future__ import annotations

import shutil
from pathlib import Path

from contrastkit.errors import ContrastkitError

__all__ = ["export_sentence_transformers"]


def export_sentence_transformers(run_dir: Path, out: Path) -> None:
    """Copy RUN_DIR/model (text) or RUN_DIR/text (image-text) to `out`, its
    sentence_bert_config.json saying not to build the unused pooler.

    Raises:
        ContrastkitError: another modality, a locked text tower, or an unfinished run.
    """
    from contrastkit.pipeline.settings import read_run_config

    modality = read_run_config(run_dir).data.modality
    if modality not in ("text", "image-text"):
        raise ContrastkitError(
            f"the sentence-transformers format holds text models, and this is a {modality} "
            "run; use --format safetensors, onnx or torchscript"
        )
    folder = run_dir / ("model" if modality == "text" else "text")
    if not (folder / "config.json").is_file():
        why = (
            "the run has not finished"
            if modality == "text"
            else "its text tower was locked (method.lock_text), so it is the pretrained start"
        )
        raise ContrastkitError(f"{run_dir} has no trained text model to export: {why}")
    shutil.copytree(folder, out, dirs_exist_ok=True)
    from contrastkit.encoders.text import skip_pooler

    skip_pooler(out)  # also for folders saved before `TextEncoder.save` did it
