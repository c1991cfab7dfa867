"""The methods x modalities table of the README, cell by cell: every method that a
modality accepts trains on that modality's real data (a small subset, a few dozen steps):
the loss is finite and falls, and the test embeddings do not collapse. Cells a modality
refuses are refused at validation with one sentence.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
import torch

from contrastkit.errors import ConfigError
from contrastkit.evaluate.geometry import effective_rank, normalized_std
from contrastkit.methods import METHODS
from contrastkit.modalities.registry import MODALITIES, get_modality
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import build_method, trainer_for

pytestmark = pytest.mark.slow
STEPS, LOG_EVERY = 32, 4
TEXT_STEPS = 128  # a text encoder from scratch first bunches its embeddings, then spreads
# Per modality: the data and small settings; label-using runs need labelled data.
DATA = {
    "image": {"data.dataset": "digits", "model.widths": [8, 16, 32], "data.holdout": 0,
              "train.batch_size": 64},
    "text": {"data.dataset": "wordnet", "data.max_items": 1200, "data.test_size": 200,
             "model.name": "scratch", "model.dim": 32, "model.layers": 1,
             "model.max_length": 32, "model.vocab_size": 2000, "optim.lr": 2e-3},
    "audio": {"data.dataset": "instrument-notes", "model.widths": [8, 16, 32, 32],
              "data.clip_seconds": 0.5, "train.batch_size": 32},
    "graph": {"model.hidden_dim": 32, "train.batch_size": 64},
    "table": {"data.dataset": "churn", "model.hidden_dim": 64, "model.num_layers": 2,
              "model.output_dim": 64},
    "image-text": {"data.dataset": "emoji", "data.image_size": 16, "model.widths": [8, 16],
                   "model.text_model": "scratch", "model.text_dim": 32, "model.text_layers": 1,
                   "train.batch_size": 64},
    "interactions": {"model.dim": 16, "model.hidden": 32, "train.batch_size": 128},
}  # fmt: skip
# Settings of a method for a few dozen steps: a small MoCo queue and more steps (its loss
# falls slowly once the queue holds real keys); SGD learning rates of the
# image recipes for the methods that diverge at the image default of 0.3; contrastive and
# triplet with their labels as well.
METHOD = {
    "moco": {"method.queue_size": 256, "train.steps": 256},
    "swav": {"method.freeze_prototypes_steps": 8},
    # DINO's student starts as its teacher, so the loss first rises as they part; a fixed
    # sharp teacher and more steps
    "dino": {
        "method.warmup_teacher_temperature": 0.02,
        "method.teacher_temperature": 0.02,
        "train.steps": 128,
    },
    "contrastive": {"method.use_labels": True},
    "triplet": {"method.use_labels": True},
}
IMAGE = {"byol": {"optim.lr": 0.1}, "simsiam": {"optim.lr": 0.1}, "moco": {"optim.lr": 0.1},
         "barlow_twins": {"optim.lr": 0.05}, "proxy_anchor": {"optim.lr": 0.1},
         "vicreg": {"optim.optimizer": "adamw", "optim.lr": 1e-3},  # SGD diverges here
         "dino": {"optim.optimizer": "adamw", "optim.lr": 1e-3}}  # as its recipe  # fmt: skip


@functools.cache
def _graph_folder() -> str:
    from contrastkit.data.debian_graph import load_debian_graph
    from contrastkit.data.graph import induced_subgraph
    from tests.modalities.test_graph import write_graph_folder

    debian = load_debian_graph()
    small = induced_subgraph(debian, torch.nonzero(debian.labels >= 0).flatten()[::30])
    return str(write_graph_folder(_scratch() / "graph", small))


@functools.cache
def _ratings() -> str:
    from tests.test_cli_modalities import _ratings

    return _ratings(_scratch())[1]


@functools.cache
def _scratch() -> Path:
    """A temporary folder for the CSV files these tests write once."""
    return Path(tempfile.mkdtemp(prefix="contrastkit-matrix-"))


def _settings(modality: str) -> dict:
    settings = dict(DATA[modality])
    if modality == "graph":
        settings["data.dataset"] = _graph_folder()
    if modality == "interactions":
        settings["data.dataset"] = _ratings()
    steps = TEXT_STEPS if modality == "text" else STEPS
    return {**settings, "data.modality": modality, "train.steps": steps,
            "train.log_every": LOG_EVERY, "train.precision": "fp32"}  # fmt: skip


@functools.cache
def _prepared(modality: str):
    """The modality's data, prepared once (the method does not change it)."""
    adapter = get_modality(modality)
    cfg = load_config(None, _settings(modality))
    return adapter.prepare(cfg, None)


def _cells() -> list[tuple[str, str]]:
    # methods on scored pairs (CoSENT, AnglE) train in tests/methods/test_cosent.py
    return [(m.name, n) for m in MODALITIES.values() for n, c in METHODS.items()
            if m.trains(c) and not c.needs_scores]  # fmt: skip


@pytest.mark.parametrize(("modality", "name"), _cells(), ids=lambda v: v)
def test_method_trains_on_the_modality(modality: str, name: str) -> None:
    adapter = get_modality(modality)
    image = IMAGE.get(name, {}) if modality == "image" else {}
    settings = {**_settings(modality), "method.name": name, **METHOD.get(name, {}), **image}
    cfg = adapter.resolve(load_config(None, settings), _prepared(modality))
    data = _prepared(modality)
    items = adapter.items(cfg, data, "test" if modality != "interactions" else "train")
    items = items.take(range(min(300, len(items))))
    torch.manual_seed(0)
    method = build_method(cfg, adapter, data)
    before = _spread(adapter, method, items, cfg, data)
    fit = trainer_for(cfg, method, progress=False).fit(
        adapter.batches(cfg, data, method, torch.device("cpu"))
    )
    losses = [row["loss"] for row in fit.history if "loss" in row]
    assert all(torch.isfinite(torch.tensor(losses))), losses
    first, last = sum(losses[:2]) / 2, sum(losses[-2:]) / 2
    if name == "moco":  # its queue starts as random vectors (easy negatives): the loss rises
        first = max(losses[: len(losses) // 2])  # to chance, ln(1 + queue), then falls
    if name == "dino":  # the student starts as the teacher: the loss rises, then falls
        first = max(losses[: len(losses) // 2])
    assert last < first, f"{name} on {modality}: loss {first:.4f} -> {last:.4f}"
    std, rank = _spread(adapter, method, items, cfg, data)
    # no collapse: the spread of the test embeddings stays at least half of what the
    # random-init encoder had (text encoders start anisotropic) and many dimensions are used
    assert std > 0.5 * before[0] and rank > 2.0, (name, modality, before, (std, rank))


def _spread(adapter, method, items, cfg, data) -> tuple[float, float]:
    """(normalised std, effective rank) of the embeddings of `items`."""
    model = method if adapter.towers == 2 else method.encoder
    z = torch.from_numpy(adapter.embed(model, items, cfg, data))
    return normalized_std(z), effective_rank(z)


@pytest.mark.parametrize("modality", list(MODALITIES))
def test_methods_of_the_other_kind_are_refused_at_validation(modality: str) -> None:
    towers = get_modality(modality).towers
    other = next(n for n, c in METHODS.items() if c.towers != towers)
    with pytest.raises(ConfigError, match=rf"method\.name.*{other}.*choose one of"):
        load_config(None, {**DATA[modality], "data.dataset": "x", "data.modality": modality,
                           "method.name": other, "train.steps": 1})  # fmt: skip
