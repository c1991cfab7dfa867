"""preprocess.json: what a run's model needs to read new inputs, so it loads without the
training data.

Training writes it at the end of a run (and every export that `contrastkit.load` reads
carries it): `{"format": "contrastkit-preprocess", "version": 1, "modality": ..., ...}`
with the modality's record (`Modality.preprocessing`): image size, channels and
normalisation; audio sample rate, clip length and log-mel settings; the table schema
file; the text model folder; for image-text both. Graph and interactions models encode
node and item ids of the training graph with its structure, so they read their training
data to load, as before. A run from before this file existed is loaded by reading its
training data once, with a one-line notice, and the file is written then for next time.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from contrastkit.config import Config
from contrastkit.errors import ContrastkitError
from contrastkit.files import write_json
from contrastkit.modalities.base import Modality, Prepared

__all__ = [
    "PREPROCESS_FILE",
    "PREPROCESS_VERSION",
    "inference_data",
    "preprocess_record",
    "read_preprocess",
    "write_preprocess",
]

PREPROCESS_FILE = "preprocess.json"
PREPROCESS_VERSION = 1
_FORMAT = "contrastkit-preprocess"


def preprocess_record(cfg: Config, modality: Modality, data: Prepared) -> dict[str, Any] | None:
    """preprocess.json's content for the resolved `cfg` and the data, or None for a
    modality whose model needs its training data (graph, interactions)."""
    record = modality.preprocessing(cfg, data)
    if record is None:
        return None
    return {"format": _FORMAT, "version": PREPROCESS_VERSION, "modality": modality.name} | record


def write_preprocess(folder: Path, cfg: Config, modality: Modality, data: Prepared) -> bool:
    """Write folder/preprocess.json (`preprocess_record`); False: nothing to write."""
    record = preprocess_record(cfg, modality, data)
    if record is not None:
        write_json(Path(folder) / PREPROCESS_FILE, record)
    return record is not None


def read_preprocess(folder: Path, modality: str) -> dict[str, Any] | None:
    """folder/preprocess.json checked against the run's `modality`; None if there is none.

    Raises:
        ContrastkitError: the file is not valid JSON, not a preprocess record, of another
            version or of another modality (one sentence naming the file).
    """
    path = Path(folder) / PREPROCESS_FILE
    if not path.is_file():
        return None
    fix = "delete it to read the training data again, or copy it anew from the run"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContrastkitError(f"{path} is not valid JSON ({exc}); {fix}") from exc
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        raise ContrastkitError(f"{path} is not a contrastkit preprocess record; {fix}")
    version = record.get("version")
    if version != PREPROCESS_VERSION:
        raise ContrastkitError(
            f"{path} has version {version!r}, and this contrastkit reads version "
            f"{PREPROCESS_VERSION}; install the contrastkit that trained the run, or {fix}"
        )
    if record.get("modality") != modality:
        raise ContrastkitError(
            f"{path} is for a model of modality {record.get('modality')!r}, and config.yaml "
            f"says {modality!r}; {fix}"
        )
    return record


def inference_data(folder: Path, cfg: Config, modality: Modality) -> tuple[Config, Prepared, bool]:
    """(config, data, data_free) to load the model of `folder` (a run or an export) with.

    With preprocess.json: the config set by it and the modality's data built from it, the
    training data not read (data_free True). Without (graph, interactions, or an older
    run): the training data read and the config resolved on it, as training did; an older
    run says so in one line on stderr and gets its preprocess.json written for next time.

    Raises:
        ContrastkitError: preprocess.json or a file it names is missing or malformed, or
            an older run's training data cannot be read (naming preprocess.json).
    """
    folder = Path(folder)
    record = read_preprocess(folder, modality.name)
    if record is not None:
        path = folder / PREPROCESS_FILE
        try:
            cfg, data = modality.without_data(cfg, record, folder)
        except ContrastkitError:
            raise  # a file it names is missing or malformed: said by the modality
        except KeyError as exc:
            raise ContrastkitError(f"{path} lacks the key {exc}; delete it to read the "
                                   "training data again") from exc  # fmt: skip
        except (TypeError, ValueError) as exc:
            raise ContrastkitError(f"{path} is malformed: {exc}") from exc
        return cfg, data, True
    if not modality.data_free:  # graph, interactions: the model encodes the data's ids
        data = modality.prepare(cfg, folder)
        return modality.resolve(cfg, data), data, False
    return (*_from_training_data(folder, cfg, modality), False)


def _from_training_data(folder: Path, cfg: Config, modality: Modality) -> tuple[Config, Prepared]:
    """An older run: its training data read as before, then preprocess.json written."""
    path = folder / PREPROCESS_FILE
    print(
        f"{folder}: no {PREPROCESS_FILE} (a run of an older contrastkit), so the model's "
        f"preprocessing is read from its training data {cfg.data.dataset}, and the file "
        "written for next time",
        file=sys.stderr,
    )
    try:
        data = modality.prepare(cfg, folder)
    except (ContrastkitError, OSError) as exc:
        raise ContrastkitError(
            f"{path} does not exist, so the model's preprocessing is read from its training "
            f"data, and that failed: {exc}; load the run where its data is (that writes "
            f"{PREPROCESS_FILE}) and copy the folder again"
        ) from exc
    cfg = modality.resolve(cfg, data)
    with contextlib.suppress(OSError):  # a read-only folder: the data is read next time
        write_preprocess(folder, cfg, modality, data)
    return cfg, data
