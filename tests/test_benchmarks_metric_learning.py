"""The metric-learning benchmark's pieces (it is run by hand, not here): every system's
config loads, the validation split holds out whole fonts, seeds are summarised."""

from __future__ import annotations

import pytest

from benchmarks.metric_learning import (
    EXTRA_SYSTEMS,
    SYSTEMS,
    config,
    summaries,
    validation_split,
)


@pytest.mark.parametrize("name", [*SYSTEMS, *EXTRA_SYSTEMS])
def test_every_system_config_loads(name):
    cfg = config({**SYSTEMS, **EXTRA_SYSTEMS}[name], 30.0, 2, 0.05)
    assert cfg.data.dataset == "font-letters"
    assert cfg.train.max_time == 30.0 and cfg.train.seed == 2 and cfg.optim.lr == 0.05
    assert (cfg.data.m_per_class is not None) == name.startswith("multi-similarity")


def test_validation_split_holds_out_whole_fonts():
    ids = [f"font{f}/{c}" for f in range(10) for c in "ABC"]
    fit, val = validation_split(ids, share=0.2, seed=0)
    assert sorted(fit + val) == list(range(30)) and len(val) == 6
    assert not {ids[i].split("/")[0] for i in fit} & {ids[i].split("/")[0] for i in val}
    assert validation_split(ids, share=0.2, seed=0) == (fit, val)


def test_summaries_give_mean_and_sample_std_over_seeds():
    rows = [{"system": "s", "metric": "map_at_r", "value": v, "seed": i}
            for i, v in enumerate([0.1, 0.3])]  # fmt: skip
    rows.append({"system": "raw pixels", "metric": "map_at_r", "value": 0.5})
    (summary,) = summaries(rows)
    assert summary["value"] == pytest.approx(0.2) and summary["n"] == 2
    assert summary["std"] == pytest.approx(0.1414, abs=1e-4)


@pytest.mark.slow
def test_a_system_trains_and_is_scored_on_font_letters():
    """The benchmark's training and scoring path, 3 steps on 640 glyphs."""
    from benchmarks.metric_learning import scores, train_encoder
    from contrastkit.modalities.image import ImageModality, embed_images

    cfg = config(SYSTEMS["multi-similarity + m-per-class"], 60.0, 0, 0.1)
    cfg.train.steps = 3
    data = ImageModality().prepare(cfg, None)
    fit, val = validation_split(data.train.ids[:640])
    encoder, run = train_encoder(cfg, data.train.subset(fit))
    part = data.train.subset(val)
    found = scores(
        (
            embed_images(encoder, data.train.subset(fit).images, run),
            embed_images(encoder, part.images, run),
        ),
        data.train.subset(fit),
        part,
    )
    assert set(found) == {"map_at_r", "r_precision", "precision_at_1", "knn_top1"}
    assert all(0 <= v <= 1 for v in found.values())
