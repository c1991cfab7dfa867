"""`contrastkit train-clip`: build, train and score a CLIP model on image-caption pairs.

Data: the rendered Noto emoji with their Unicode names ("emoji"), or a CSV of image,caption
rows. The image tower is a CompactCNN trained from scratch; the text tower is MiniLM from
the local PyPI package, locked by default (LiT: its caption embeddings are memoised, so a
step costs one CNN pass), or unlocked, or a small BERT trained from scratch with a WordPiece
vocabulary fitted on the training captions. A run folder holds encoder.safetensors (image
tower), clip.safetensors (the whole model), text/ (the text tower, for scratch or unlocked
runs), settings.json and summary.json (held-out scores before and after training).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from contrastkit.data.emoji import group_prompts, load_emoji
from contrastkit.data.image_text import ImageTextData, load_caption_csv, split_by_family
from contrastkit.encoders.text import TextEncoder, minilm_path
from contrastkit.encoders.vision import build_vision_encoder
from contrastkit.errors import ConfigError
from contrastkit.evaluate.linear import linear_probe
from contrastkit.evaluate.semi_supervised import embed_tensors
from contrastkit.evaluate.zero_shot import (
    class_embeddings,
    cross_modal_recall,
    embed_image_text,
    zero_shot_accuracy,
    zero_shot_balanced_accuracy,
)
from contrastkit.methods.clip import CLIP, LockedTower
from contrastkit.train.checkpoint import save_weights
from contrastkit.train.fit_result import FitResult
from contrastkit.train.pair_batches import PairBatches
from contrastkit.train.trainer import Trainer
from contrastkit.views.pipeline import EvalPreprocess, ImageViews

__all__ = [
    "ClipSettings",
    "build_clip",
    "chance_scores",
    "clip_views",
    "evaluate_clip",
    "load_pairs",
    "tokenizer_of",
    "train_clip",
    "train_clip_run",
]

TEXT_TOWERS = ("minilm", "scratch")


@dataclass
class ClipSettings:
    """What `contrastkit train-clip` was asked to do (saved as settings.json)."""

    data: str = "emoji"  # "emoji" or a CSV of image,caption[,label]
    image_size: int = 32
    caption: str = "name+subgroup"  # emoji captions: "name" or "name+subgroup"
    text_tower: str = "minilm"
    lock_text: bool = True  # minilm only; a scratch tower is always trained
    backbone: str = "compact_cnn"
    widths: tuple[int, ...] = (32, 64, 128, 256)  # compact_cnn stage widths
    text_dim: int = 128  # scratch text tower: width and layers
    text_layers: int = 2
    embed_dim: int = 128
    temperature: float = 0.07
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    steps: int | None = 600
    max_time: float | None = None
    test_fraction: float = 0.2
    precision: str = "fp32"
    seed: int = 0

    def validate(self) -> None:
        if self.text_tower not in TEXT_TOWERS:
            raise ConfigError(f"text_tower must be one of {TEXT_TOWERS}, got {self.text_tower!r}")
        if self.steps is None and self.max_time is None:
            raise ConfigError("set a budget: --steps or --max-time")
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2, got {self.batch_size}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if self.image_size < 8:
            raise ConfigError(f"image_size must be >= 8, got {self.image_size}")


def load_pairs(s: ClipSettings) -> ImageTextData:
    """The emoji dataset or the user's caption CSV."""
    if s.data == "emoji":
        return load_emoji(s.image_size, caption=s.caption)
    return load_caption_csv(s.data, size=s.image_size)


def clip_views(size: int) -> ImageViews:
    """One mild view per image: crop 60-100% of the area, brightness and contrast jitter.

    No flips, hue, saturation or grayscale: direction and colour are in the captions
    ("left arrow", "blue heart").
    """
    return ImageViews.simclr(
        size=size,
        n_views=1,
        crop_scale=(0.6, 1.0),
        flip_p=0.0,
        jitter_p=0.8,
        brightness=0.2,
        contrast=0.2,
        saturation=0.0,
        hue=0.0,
        grayscale_p=0.0,
        blur_p=0.0,
    )


def build_text_tower(s: ClipSettings, corpus: list[str]) -> TextEncoder:
    if s.text_tower == "scratch":
        return TextEncoder.from_scratch(
            corpus,
            vocab_size=4000,
            dim=s.text_dim,
            layers=s.text_layers,
            heads=max(1, s.text_dim // 32),
            max_length=32,
            seed=s.seed,
        )
    return TextEncoder.from_pretrained(minilm_path(), max_length=32)


def build_clip(s: ClipSettings, train: ImageTextData) -> CLIP:
    """A fresh CLIP model: image tower, text tower (built on `train` captions if scratch)."""
    with torch.random.fork_rng():
        torch.manual_seed(s.seed)
        image = build_vision_encoder(s.backbone, 3, small_input=True, widths=s.widths)
        text = build_text_tower(s, train.captions)
        return CLIP(
            image,
            text_encoder=text,
            embed_dim=s.embed_dim,
            temperature=s.temperature,
            lock_text=s.lock_text and s.text_tower == "minilm",
        )


def tokenizer_of(method: CLIP):
    """The text tower's tokenizer (through a `LockedTower` wrapper if there is one)."""
    tower = method.text_encoder
    return (tower.encoder if isinstance(tower, LockedTower) else tower).tokenize


def train_clip(
    method: CLIP, train: ImageTextData, s: ClipSettings, *, progress: bool = False
) -> FitResult:
    """AdamW with 5% warmup and cosine decay on [image view, caption tokens] batches."""
    source = PairBatches(
        train.images, train.captions, tokenizer_of(method), image_views=clip_views(s.image_size)
    )
    trainer = Trainer(
        method,
        optimizer="adamw",
        lr=s.lr,
        weight_decay=s.weight_decay,
        warmup=0.05,
        batch_size=min(s.batch_size, len(train)),
        steps=s.steps,
        max_time=s.max_time,
        precision=s.precision,
        seed=s.seed,
        progress=progress,
        log_every=10,
    )
    return trainer.fit(source)


def evaluate_clip(
    method: CLIP,
    test: ImageTextData,
    *,
    prompts: tuple[list[str], torch.Tensor] | None = None,
    train: ImageTextData | None = None,
) -> dict[str, float]:
    """Held-out scores: retrieval recall@1/5/10 both ways; zero-shot accuracy when `prompts`
    (texts and their classes) are given; a linear probe on the image tower's features when
    `train` has labels."""
    size = test.images.shape[-1]
    tokenize = tokenizer_of(method)
    prepare = EvalPreprocess(size)
    img, txt = embed_image_text(method, test.images, test.captions, tokenize, prepare=prepare)
    scores = cross_modal_recall(img, txt)
    if prompts is not None and test.labels is not None:
        _, prompt_emb = embed_image_text(
            method, test.images[:0], prompts[0], tokenize, prepare=prepare
        )
        classes = class_embeddings(prompt_emb, prompts[1], len(test.classes or []) or None)
        scores["zero_shot_accuracy"] = zero_shot_accuracy(img, classes, test.labels)
        scores["zero_shot_balanced_accuracy"] = zero_shot_balanced_accuracy(
            img, classes, test.labels
        )
    if train is not None and train.labels is not None and test.labels is not None:
        f_train = embed_tensors(method.encoder, train.images, prepare=prepare)
        f_test = embed_tensors(method.encoder, test.images, prepare=prepare)
        probe = linear_probe(f_train, train.labels, f_test, test.labels)
        scores["linear_probe_accuracy"] = probe.accuracy
    return scores


def chance_scores(test: ImageTextData) -> dict[str, float]:
    """What guessing scores: recall@k = k / N; for zero-shot accuracy the best constant guess
    (the majority class's share), for balanced accuracy 1 / C."""
    n = len(test)
    out = {f"{d}/recall@{k}": min(k, n) / n for d in ("image_to_text", "text_to_image")
           for k in (1, 5, 10)}  # fmt: skip
    if test.labels is not None and test.classes:
        out["zero_shot_balanced_accuracy"] = 1.0 / len(test.labels.unique())
        out["zero_shot_accuracy"] = float(torch.bincount(test.labels).max()) / n
    return out


def train_clip_run(s: ClipSettings, output: str | Path, *, progress: bool = True) -> dict:
    """Load, split by family, score the random-init model, train, score again, export."""
    s.validate()
    output = Path(output)
    data = load_pairs(s)
    train, test = split_by_family(data, s.test_fraction, s.seed)
    prompts = group_prompts(data) if s.data == "emoji" else None
    method = build_clip(s, train)
    before = evaluate_clip(method, test, prompts=prompts, train=train)
    fit = train_clip(method, train, s, progress=progress)
    after = evaluate_clip(method, test, prompts=prompts, train=train)
    output.mkdir(parents=True, exist_ok=True)
    save_weights(method.encoder, output / "encoder.safetensors")
    trained = {k: v for k, v in method.state_dict().items() if not k.startswith("text_encoder.")}
    save_weights(_Tensors(trained), output / "clip.safetensors")
    if not method.lock_text:
        method.text_encoder.save(output / "text")
    summary = {
        "data": s.data,
        "items": {"train": len(train), "test": len(test)},
        "steps": fit.steps,
        "train_seconds": round(fit.train_seconds, 2),
        "final_loss": fit.final_loss,
        "temperature": method.temperature.item(),
        "collapsed_at_step": fit.collapsed_at_step,
        "chance": chance_scores(test),
        "random_init": before,
        "trained": after,
    }
    (output / "settings.json").write_text(json.dumps(asdict(s), indent=2) + "\n")
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


class _Tensors(torch.nn.Module):
    """A state dict as a module, for `save_weights` (the locked text tower is left out)."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self._tensors = tensors

    def state_dict(self, *args, **kwargs) -> dict[str, torch.Tensor]:  # type: ignore[override]
        return self._tensors
