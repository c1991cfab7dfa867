"""Every image method trains under torch's DDP with 2 gloo processes: no parameter is left
unreduced (DDP stops at the next step when a method leaves one without a gradient and has
not said so), and both processes end with the same weights."""

from __future__ import annotations

from pathlib import Path

import torch

from contrastkit.errors import ConfigError
from contrastkit.methods import METHODS
from contrastkit.modalities.registry import get_modality
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import build_method, trainer_for
from contrastkit.train import ddp
from tests.helpers.distributed import run_distributed

SETTINGS = {"data.dataset": "digits", "model.widths": [8, 16], "data.holdout": 0,
            "train.batch_size": 32, "train.steps": 3, "train.monitor_every": 0,
            "train.precision": "fp32", "method.queue_size": 64}  # fmt: skip


def _train_each(rank: int, world: int, folder: str) -> dict[str, list[torch.Tensor]]:
    image = get_modality("image")
    out = {}
    for name in sorted(METHODS):
        settings = {**SETTINGS, "method.name": name}
        if name in ("contrastive", "triplet"):
            settings["method.use_labels"] = True
        try:
            cfg = load_config(None, settings)
        except ConfigError:  # not an image method (e.g. two-tower CLIP) or no queue
            settings.pop("method.queue_size")
            try:
                cfg = load_config(None, settings)
            except ConfigError:
                continue
        data = image.prepare(cfg, Path(folder))
        cfg = image.resolve(cfg, data)
        torch.manual_seed(0)
        method = build_method(cfg, image, data, gather=ddp.is_distributed())
        trainer = trainer_for(cfg, method, progress=False, device=torch.device("cpu"))
        trainer.fit(image.batches(cfg, data, method, torch.device("cpu")))
        assert trainer.step == 3, name
        out[name] = [p.detach().clone() for p in method.parameters()]
    return out


def test_every_image_method_trains_under_ddp(tmp_path: Path) -> None:
    first, second = run_distributed(_train_each, 2, tmp_path, str(tmp_path))
    image_methods = {n for n, cls in METHODS.items() if get_modality("image").trains(cls)}
    assert set(first) == image_methods, sorted(image_methods - set(first))
    for name, weights in first.items():
        for a, b in zip(weights, second[name], strict=True):
            torch.testing.assert_close(a, b, msg=f"{name}: processes disagree")
