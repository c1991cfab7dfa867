"""`contrastkit train-audio`: train an audio encoder on clips, score it on classification.

Data: the rendered instrument notes ("notes": 16 GM families, test pitches unseen in
training) or a folder of WAV/FLAC clips (class subfolders give labels, split per class;
a flat folder trains without evaluation). Scores: kNN and linear-probe accuracy on the
test clips for the raw-feature baseline (log-mel mean and std over time), the randomly
initialised encoder and the trained encoder.

A run folder holds settings.json, metrics.csv, checkpoints/, encoder.safetensors and
summary.json.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from contrastkit.data.audio import read_audio_folder
from contrastkit.data.instrument_notes import load_instrument_notes
from contrastkit.encoders.audio import AudioEncoder, LogMel
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.evaluate.geometry import effective_rank, normalized_std
from contrastkit.evaluate.knn import knn_accuracy
from contrastkit.evaluate.linear import linear_probe
from contrastkit.evaluate.semi_supervised import embed_tensors, label_subset
from contrastkit.methods import METHODS, Method
from contrastkit.train.tensor_batches import TensorBatches
from contrastkit.train.trainer import Trainer
from contrastkit.views.audio import AudioViews

__all__ = [
    "AudioData",
    "AudioRunSettings",
    "build_audio_method",
    "evaluate_audio_encoder",
    "load_audio_data",
    "raw_audio_features",
    "train_audio_run",
]


@dataclass
class AudioRunSettings:
    """What `contrastkit train-audio` was asked to do (saved as settings.json)."""

    data: str = "notes"
    method: str = "simclr"
    steps: int | None = 300
    max_time: float | None = None
    batch_size: int = 64
    lr: float = 2e-3
    sample_rate: int = 16000
    clip_seconds: float = 1.0
    test_fraction: float = 0.25
    widths: tuple[int, ...] = (16, 32, 64, 128)
    n_mels: int = 40
    hop: int = 320
    knn_k: int = 20
    seed: int = 0

    def encoder(self) -> AudioEncoder:
        """A freshly initialised encoder of these settings."""
        return AudioEncoder(self.sample_rate, self.widths, n_mels=self.n_mels, hop=self.hop)


@dataclass
class AudioData:
    """Clips to train on and, when labelled, a test split to score on."""

    train: Tensor
    train_labels: Tensor | None
    test: Tensor | None = None
    test_labels: Tensor | None = None
    class_names: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    description: str = ""


def load_audio_data(settings: AudioRunSettings) -> AudioData:
    """The instrument notes (data "notes") or the clips of a folder, split for evaluation."""
    if settings.data == "notes":
        notes = load_instrument_notes()
        if notes.sample_rate != settings.sample_rate:
            raise ConfigError(
                f"sample_rate: the notes are rendered at {notes.sample_rate} Hz, "
                f"got {settings.sample_rate}"
            )
        return AudioData(
            notes.train.clips,
            notes.train.labels,
            notes.test.clips,
            notes.test.labels,
            list(notes.class_names),
            description=(
                f"instrument notes (FluidR3 GM): {len(notes.train)} train / {len(notes.test)} "
                f"test clips, test pitches {list(notes.settings.test_pitches)} unseen in "
                f"training, {notes.dropped_silent} silent clips dropped"
            ),
        )
    folder = read_audio_folder(
        settings.data, sample_rate=settings.sample_rate, clip_seconds=settings.clip_seconds
    )
    skipped = [str(p) for p in folder.skipped]
    if folder.labels is None:
        return AudioData(
            folder.clips, None, skipped=skipped, description=f"{len(folder)} unlabelled clips"
        )
    train_idx = label_subset(folder.labels, 1.0 - settings.test_fraction, settings.seed)
    test_mask = torch.ones(len(folder), dtype=torch.bool)
    test_mask[train_idx] = False
    if not test_mask.any():
        raise ConfigError(
            f"test_fraction: {settings.data} has too few clips per class to hold out "
            f"{settings.test_fraction:.0%} for evaluation; add clips or raise test_fraction"
        )
    return AudioData(
        folder.clips[train_idx],
        folder.labels[train_idx],
        folder.clips[test_mask],
        folder.labels[test_mask],
        folder.class_names,
        skipped,
        f"{len(folder)} clips in {len(folder.class_names)} classes, "
        f"{int(test_mask.sum())} held out per class",
    )


def raw_audio_features(clips: Tensor, sample_rate: int = 16000, n_mels: int = 64) -> Tensor:
    """Raw-feature baseline: mean and std over time of each log-mel band, (N, 2 * n_mels)."""
    frontend = LogMel(sample_rate, n_mels=n_mels, normalize=False)
    with torch.no_grad():
        spec = torch.cat([frontend(c.float()) for c in clips.split(512)]).squeeze(1)
    return torch.cat([spec.mean(dim=2), spec.std(dim=2)], dim=1)


def score_features(
    train: Tensor, train_labels: Tensor, test: Tensor, test_labels: Tensor, k: int = 20
) -> dict[str, float]:
    """kNN (cosine on features standardised with the train statistics, k neighbours,
    temperature 0.1) and linear-probe accuracy, plus the test embeddings' effective rank."""
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    train_n, test_n = (train - mean) / std, (test - mean) / std
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    return {
        "knn": knn_accuracy(
            train_n, train_labels, test_n, test_labels, k=k, num_classes=num_classes
        ),
        "linear": linear_probe(
            train, train_labels, test, test_labels, num_classes=num_classes
        ).accuracy,
        "effective_rank": effective_rank(test),
        "std": normalized_std(test),
    }


def evaluate_audio_encoder(
    encoder: torch.nn.Module, data: AudioData, k: int = 20
) -> dict[str, float]:
    """`score_features` of the frozen encoder's embeddings of the train and test clips."""
    if data.train_labels is None or data.test is None or data.test_labels is None:
        raise ContrastkitError("evaluation needs labelled clips (class subfolders)")
    train = embed_tensors(encoder, data.train, batch_size=256)
    test = embed_tensors(encoder, data.test, batch_size=256)
    return score_features(train, data.train_labels, test, data.test_labels, k)


def build_audio_method(name: str, encoder: torch.nn.Module) -> Method:
    """`METHODS[name](encoder)` with the method's defaults; a clear error for unknown names."""
    if name not in METHODS:
        raise ConfigError(f"method: unknown {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name](encoder)


def train_audio_run(
    settings: AudioRunSettings, output: str | Path, *, progress: bool = True
) -> dict:
    """Train per `settings`, write the run folder `output`, return the summary dict."""
    if settings.steps is None and settings.max_time is None:
        raise ConfigError("set a budget: steps or max_time")
    data = load_audio_data(settings)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "settings.json").write_text(json.dumps(asdict(settings), indent=2) + "\n")
    torch.manual_seed(settings.seed)
    encoder = settings.encoder()
    labelled = data.test is not None
    scores: dict[str, dict[str, float]] = {}
    if labelled:
        train_f = raw_audio_features(data.train, settings.sample_rate)
        test_f = raw_audio_features(data.test, settings.sample_rate)
        scores["raw log-mel statistics"] = score_features(
            train_f, data.train_labels, test_f, data.test_labels, settings.knn_k
        )
        scores["random-init encoder"] = evaluate_audio_encoder(encoder, data, settings.knn_k)
    method = build_audio_method(settings.method, encoder)
    if method.needs_labels and data.train_labels is None:
        raise ConfigError(f"method {settings.method} is supervised: the data has no labels")
    source = TensorBatches(
        data.train,
        AudioViews(encoder.frontend),
        data.train_labels if method.needs_labels else None,
    )
    trainer = Trainer(
        method,
        optimizer="adamw",
        lr=settings.lr,
        weight_decay=1e-4,
        batch_size=min(settings.batch_size, len(data.train)),
        steps=settings.steps,
        max_time=settings.max_time,
        precision="fp32",
        seed=settings.seed,
        run_dir=out,
        progress=progress,
    )
    fit = trainer.fit(source)
    if labelled:
        scores[f"{settings.method} encoder"] = evaluate_audio_encoder(
            method.encoder, data, settings.knn_k
        )
    summary = {
        "data": data.description,
        "method": settings.method,
        "steps": fit.steps,
        "train_seconds": round(fit.train_seconds, 1),
        "final_loss": fit.final_loss,
        "first_loss": fit.history[0]["loss"] if fit.history else None,
        "skipped_files": data.skipped,
        "class_names": data.class_names,
        "evaluation": scores or None,
        "metric": f"test accuracy: kNN (k={settings.knn_k}, cosine) and linear probe",
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
