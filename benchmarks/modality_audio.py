"""Audio modality benchmark: instrument-family classification of rendered GM notes.

Dataset: single notes of the 128 General MIDI programs rendered from the Debian FluidR3
GM soundfont (fluidsynth, 16 kHz, 1 s clips from the note-on), 12 pitches x 2 velocities;
the 3 test pitches (44, 60, 76) never occur in training. Labels: 16 instrument families
(program // 8), used for evaluation only.

Systems, all scored on the test clips with kNN (cosine on train-standardised features,
k=20, temperature 0.1) and a linear probe (L-BFGS softmax regression) on frozen features:
- raw log-mel statistics: per-band mean and std over time of a 64-band log-mel;
- random-init encoder: the log-mel + CNN encoder as initialised;
- SimCLR encoder: the same encoder trained with SimCLR (AdamW, batch 64, fp32) for
  `budget` seconds of training with `AudioViews` (crop, pitch/speed, gain, mixing,
  noise, shift, then time/frequency masking).
Semi-supervised rows (`semi_supervised_eval`): 10% and 1% of the train labels, linear
probe on frozen features, fine-tuning of the pre-trained encoder and the same
architecture trained from scratch (same steps, lr and augmentations).

Run: python -m benchmarks.modality_audio --budget 600
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import print_table, write_results
from contrastkit.evaluate.semi_supervised import semi_supervised_eval
from contrastkit.methods import SimCLR
from contrastkit.pipeline.audio_run import (
    AudioRunSettings,
    evaluate_audio_encoder,
    load_audio_data,
    raw_audio_features,
    score_features,
)
from contrastkit.train.tensor_batches import TensorBatches
from contrastkit.train.trainer import Trainer
from contrastkit.views.audio import AudioViews

MODALITY = "audio"


def _rows(system: str, scores: dict[str, float]) -> list[dict]:
    return [
        {
            "modality": MODALITY,
            "system": system,
            "metric": f"{name} accuracy",
            "value": scores[name],
        }
        for name in ("knn", "linear")
    ]


def run(
    budget: float, seed: int = 0, *, finetune_steps: int = 200, batch_size: int = 64
) -> list[dict]:
    """Train SimCLR for `budget` seconds and score every system; returns result rows.

    Args:
        budget: seconds of contrastive training.
        seed: seeds weights, data order and views.
        finetune_steps: steps of each semi-supervised fine-tuning (pre-trained and scratch).
        batch_size: clips per contrastive training step.
    """
    settings = AudioRunSettings(seed=seed, batch_size=batch_size)
    data = load_audio_data(settings)
    rows = _rows(
        "raw log-mel statistics",
        score_features(
            raw_audio_features(data.train),
            data.train_labels,
            raw_audio_features(data.test),
            data.test_labels,
        ),
    )
    torch.manual_seed(seed)
    encoder = settings.encoder()
    rows += _rows("random-init encoder", evaluate_audio_encoder(encoder, data))
    method = SimCLR(encoder, temperature=0.2)
    views = AudioViews(encoder.frontend)
    start = time.perf_counter()
    fit = Trainer(
        method,
        optimizer="adamw",
        lr=settings.lr,
        weight_decay=1e-4,
        batch_size=batch_size,
        max_time=budget,
        precision="fp32",
        seed=seed,
        progress=False,
    ).fit(TensorBatches(data.train, views))
    print(
        f"SimCLR: {fit.steps} steps in {time.perf_counter() - start:.0f} s, loss "
        f"{fit.history[0]['loss']:.3f} -> {fit.final_loss:.3f}"
    )
    rows += _rows("SimCLR encoder", evaluate_audio_encoder(encoder, data))
    rows.append(
        {
            "modality": MODALITY,
            "system": "SimCLR encoder",
            "metric": "train steps",
            "value": fit.steps,
        }
    )
    semi = semi_supervised_eval(
        encoder,
        settings.encoder,
        (data.train, data.train_labels),
        (data.test, data.test_labels),
        fractions=(0.1, 0.01),
        steps=finetune_steps,
        augment=views.one,
        seed=seed,
    )
    names = {"fine-tune": "pre-trained + fine-tune", "scratch": "scratch",
             "linear probe": "pre-trained + linear probe"}  # fmt: skip
    for r in semi:
        rows.append(
            {
                "modality": MODALITY,
                "system": names[r["protocol"]],
                "metric": f"accuracy with {r['fraction']:.0%} labels ({r['labels']})",
                "value": r["accuracy"],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600.0, help="seconds of SimCLR training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--finetune-steps", type=int, default=200)
    args = parser.parse_args()
    rows = run(args.budget, args.seed, finetune_steps=args.finetune_steps)
    print_table(rows, ["system", "metric", "value"])
    path = write_results(
        "modality_audio",
        rows,
        budget=args.budget,
        seed=args.seed,
        finetune_steps=args.finetune_steps,
    )
    print(f"written: {path}")


if __name__ == "__main__":
    main()
