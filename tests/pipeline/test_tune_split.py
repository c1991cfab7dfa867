"""The validation split of `tune-views`: carved from the training items only, disjoint
from what the proxy runs train on, and what `train(data=...)` trains on."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data.text import TextData
from contrastkit.errors import ContrastkitError
from contrastkit.modalities.image import ImageModality
from contrastkit.modalities.registry import get_modality
from contrastkit.modalities.tensor import TensorData
from contrastkit.modalities.text import TextPrepared
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train
from contrastkit.pipeline.tune_split import carve_validation


def _digits():
    cfg = load_config("digits", {"train.steps": 1, "train.batch_size": 32})
    return cfg, get_modality("image").prepare(cfg, None)


def test_images_validation_is_held_out_of_the_training_items_never_the_test() -> None:
    _, data = _digits()
    split = carve_validation(data, seed=0)
    train, val = set(split.train_ids), set(split.val_ids)
    assert train.isdisjoint(val)
    assert train | val == set(data.pool.ids)  # all from the training split (queries too)
    assert val.isdisjoint(data.test.ids) and train.isdisjoint(data.test.ids)
    assert len(val) == round(0.2 * len(data.pool))
    proxy = split.train
    assert list(proxy.train.ids) == split.train_ids and proxy.monitor_queries is None
    assert set(split.bank.ids) <= train and list(split.queries.ids) == split.val_ids
    assert split.queries.labels is not None and proxy.test is data.test
    assert carve_validation(data, seed=0).val_ids == split.val_ids  # seeded


def test_train_draws_only_from_the_data_it_is_given(tmp_path, monkeypatch) -> None:
    cfg, data = _digits()
    split = carve_validation(data, seed=0)
    seen = []
    batches = ImageModality.batches

    def record(self, cfg, data, method, device):
        seen.append(list(data.train.ids))
        return batches(self, cfg, data, method, device)

    monkeypatch.setattr(ImageModality, "batches", record)
    cfg.train.monitor_every, cfg.train.loggers = 0, ["csv"]
    train(cfg, run_dir=tmp_path / "run", progress=False, data=split.train)
    assert seen == [split.train_ids]
    assert set(seen[0]).isdisjoint(split.val_ids)


def test_tensor_items_are_split_by_position() -> None:
    x, y = torch.arange(100.0).reshape(50, 2), torch.arange(50) % 3
    data = TensorData("toy", y, [], x, x[:5], y[:5], ["a", "b", "c"])
    split = carve_validation(data, seed=1)
    assert set(split.train_ids).isdisjoint(split.val_ids) and len(split.val_ids) == 10
    kept = [int(i.split("/")[1]) for i in split.train_ids]
    assert torch.equal(split.train.train, x[kept]) and torch.equal(split.train.labels, y[kept])
    held = [int(i.split("/")[1]) for i in split.val_ids]
    assert torch.equal(split.queries.items, x[held])
    assert split.queries.labels.tolist() == y[held].tolist()


def test_text_pairs_keep_each_anchor_with_its_positive() -> None:
    anchors = [f"a{i}" for i in range(40)]
    pairs = TextData(anchors, [f"p{i}" for i in range(40)])
    data = TextPrepared("toy", None, [], pairs, None, None)
    split = carve_validation(data, seed=0)
    assert len(split.val_ids) == 8 and set(split.train_ids).isdisjoint(split.val_ids)
    assert [p[1:] for p in split.positives.items] == [a[1:] for a in split.queries.items]
    assert set(split.train.train.anchor).isdisjoint(split.queries.items)
    assert split.queries.labels is None


def test_a_group_pattern_keeps_each_group_on_one_side() -> None:
    _, data = _digits()
    pattern = r"/(\d*)\d$"  # ids "digits/index": groups of ten consecutive images
    split = carve_validation(data, seed=0, group=pattern)
    tens = {i[:-1] for i in split.val_ids}
    assert tens.isdisjoint(i[:-1] for i in split.train_ids)
    assert set(split.train_ids) | set(split.val_ids) == set(data.pool.ids)
    assert abs(len(split.val_ids) - round(0.2 * len(data.pool))) < 10  # whole groups of 10
    ungrouped = carve_validation(data, seed=0)
    assert {i[:-1] for i in ungrouped.val_ids} & {i[:-1] for i in ungrouped.train_ids}


def test_a_group_pattern_on_data_without_paths_is_refused() -> None:
    x, y = torch.arange(100.0).reshape(50, 2), torch.arange(50) % 3
    data = TensorData("toy", y, [], x, x[:5], y[:5], ["a", "b", "c"])
    with pytest.raises(ContrastkitError, match="--group splits image datasets"):
        carve_validation(data, seed=0, group=r"(\d)")
