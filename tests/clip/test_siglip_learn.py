"""SigLIP on the emoji image-caption pairs (the `emoji` recipe's data, rendered from the
installed Noto Color Emoji font): a short run's loss falls, the learned temperature and
bias move, held-out retrieval beats the random-init model and chance in both directions,
and with Matryoshka eval.json holds the main metric at each nested size.

The settings are those of the CLIP learning test (tests/modalities/test_learning.py):
an earlier version (16-px images, an [8, 16] CNN, 150 steps, recall@1 against twice
chance) passed alone at 7 hits of 676 and failed once in a whole-suite run at 1 hit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.modalities.helpers import loss_fell, train_and_evaluate

pytestmark = pytest.mark.slow


def test_siglip_on_emoji_pairs_learns(tmp_path: Path) -> None:
    run = tmp_path / "run"
    fit, s = train_and_evaluate(
        run, data__dataset="emoji", method__name="siglip", train__steps=250,
        model__widths=[16, 32, 64, 128], method__matryoshka_dims=[16, 32, 64, 128],
    )  # fmt: skip
    loss_fell(fit, by=0.5)
    rows = [r for r in fit.history if "loss" in r]
    assert rows[-1]["logit_bias"] != -10.0  # the bias is learned
    chance = s[("chance", "image_to_text/recall@5")]
    for direction in ("image_to_text", "text_to_image"):
        trained = s[("contrastkit siglip", f"{direction}/recall@5")]
        initial = s[("random-init model", f"{direction}/recall@5")]
        assert trained > max(initial, chance) + 0.05, (direction, trained, initial, chance)
    report = json.loads((run / "eval.json").read_text())
    main = "image_to_text/recall@1"  # the modality's main metric, the one nested
    nested = {r["dim"]: r["value"] for r in report["matryoshka"] if r["metric"] == main}
    assert sorted(nested) == [16, 32, 64, 128]
    assert nested[128] == pytest.approx(s[("contrastkit siglip", main)])
    assert nested[16] > 3 * s[("chance", main)], (nested, s[("chance", main)])
