"""`contrastkit train-text`: train a sentence encoder on a text file, export it, score it.

A run folder holds settings.json (what was asked), init/ (the starting encoder, so a
resume rebuilds exactly the same model and tokenizer), checkpoints/, metrics.csv, model/
(the trained encoder as a sentence-transformers folder) and summary.json (held-out
retrieval before and after training, when the data has pairs).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from contrastkit.data.text import TextData, load_texts
from contrastkit.data.wordnet import load_wordnet, synonym_table
from contrastkit.encoders.text import TextEncoder, minilm_path
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.evaluate.retrieval import retrieval_metrics
from contrastkit.methods import TEXT_METHODS, Method
from contrastkit.train.batches import TextBatches
from contrastkit.train.grad_cache import check_grad_cache
from contrastkit.train.trainer import Trainer
from contrastkit.views.text import TextViews

__all__ = ["TextRunSettings", "is_text_model", "text_trainer", "train_text_run"]


@dataclass
class TextRunSettings:
    """What `contrastkit train-text` was asked to do (saved as settings.json)."""

    data: str
    model: str = "minilm"  # "minilm", "scratch" or a local model folder
    method: str = "mnrl"
    columns: dict[str, str] | None = None
    batch_size: int = 32
    lr: float | None = None  # default: 2e-5 for a pretrained model, 5e-4 from scratch
    steps: int | None = None
    max_time: float | None = None
    epochs: float | None = None
    precision: str = "auto"
    max_length: int = 128
    holdout: int = 500
    temperature: float | None = None
    delete_p: float = 0.0  # word deletion probability of the text views
    synonym_p: float = 0.0  # WordNet synonym replacement probability of the text views
    seed: int = 0
    grad_cache_chunk: int | None = None  # gradient caching: texts encoded per pass

    def validate(self) -> None:
        if self.method not in TEXT_METHODS:
            raise ConfigError(
                f"method {self.method!r} is not a text method; choose one of {list(TEXT_METHODS)}"
            )
        if self.steps is None and self.max_time is None and self.epochs is None:
            raise ConfigError("set a budget: --steps, --epochs or --max-time")
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2, got {self.batch_size}")
        if self.holdout < 0:
            raise ConfigError(f"holdout must be >= 0, got {self.holdout}")
        for name in ("delete_p", "synonym_p"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        check_grad_cache(
            TEXT_METHODS[self.method], self.grad_cache_chunk, self.precision, "--grad-cache-chunk"
        )
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, got {self.precision}")


def text_trainer(method: Method, *, lr: float, **budget_and_run) -> Trainer:
    """The trainer for text encoders: AdamW (weight decay 0.01), 10% warmup, then cosine.

    `budget_and_run` are the other `Trainer` arguments (batch_size, steps, epochs,
    max_time, precision, seed, run_dir, progress, ...).
    """
    return Trainer(
        method, optimizer="adamw", lr=lr, weight_decay=0.01, warmup=0.1, **budget_and_run
    )


def _split(data: TextData, holdout: int, seed: int) -> tuple[TextData, TextData | None]:
    if data.positive is None or holdout == 0:
        return data, None
    if holdout >= len(data) // 2:
        raise ConfigError(f"holdout {holdout} leaves too few of the {len(data)} pairs to train on")
    index = list(range(len(data)))
    random.Random(seed).shuffle(index)
    return data.subset(index[holdout:]), data.subset(index[:holdout])


def _initial_encoder(s: TextRunSettings, train: TextData, init_dir: Path) -> TextEncoder:
    if init_dir.is_dir():  # resume: the exact starting point of this run
        return TextEncoder.from_pretrained(init_dir)
    if s.model == "scratch":
        corpus = [t for col in (train.anchor, train.positive, train.negative) if col for t in col]
        enc = TextEncoder.from_scratch(corpus, max_length=s.max_length, seed=s.seed)
    else:
        path = minilm_path() if s.model == "minilm" else Path(s.model)
        enc = TextEncoder.from_pretrained(path, max_length=s.max_length)
    enc.save(init_dir)
    return enc


def _views(s: TextRunSettings) -> TextViews | None:
    """Word-level views when asked (deletion, WordNet synonyms); None: the texts as they are."""
    if s.delete_p == 0 and s.synonym_p == 0:
        return None
    synonyms = synonym_table(load_wordnet()) if s.synonym_p > 0 else None
    return TextViews.eda(p_delete=s.delete_p, synonyms=synonyms, p_synonym=s.synonym_p)


def _score(encoder: TextEncoder, test: TextData | None) -> dict[str, float] | None:
    if test is None:
        return None
    q, d = encoder.encode(test.anchor), encoder.encode(test.positive)
    return retrieval_metrics(q, d, torch.arange(len(test)))


def train_text_run(
    settings: TextRunSettings, run_dir: str | Path, *, resume: bool = False, progress: bool = True
) -> dict:
    """Train, export run_dir/model, and return the summary (also written to summary.json)."""
    run_dir = Path(run_dir)
    if resume:
        settings = TextRunSettings(**json.loads((run_dir / "settings.json").read_text()))
    settings.validate()
    data = load_texts(settings.data, columns=settings.columns)
    method_cls = TEXT_METHODS[settings.method]
    has = {"texts": True, "pairs": data.positive is not None, "triplets": data.negative is not None}
    if not has[method_cls.text_data]:
        raise ContrastkitError(
            f"{settings.data}: method {settings.method} needs {method_cls.text_data}, "
            f"the file has {data.kind}"
        )
    train, test = _split(data, settings.holdout, settings.seed)
    if method_cls.text_data == "texts":  # every text of the file is one item
        texts = train.anchor + (train.positive or [])
        train = TextData(texts, source=train.source)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        (run_dir / "settings.json").write_text(json.dumps(asdict(settings), indent=2) + "\n")
    encoder = _initial_encoder(settings, train, run_dir / "init")
    before = _score(encoder, test) if not resume else None
    args = {} if settings.temperature is None else {"temperature": settings.temperature}
    torch.manual_seed(settings.seed)
    lr = settings.lr or (5e-4 if settings.model == "scratch" else 2e-5)
    trainer = text_trainer(
        method_cls(encoder, **args),
        lr=lr,
        batch_size=settings.batch_size,
        steps=settings.steps,
        epochs=settings.epochs,
        max_time=settings.max_time,
        precision=settings.precision,
        seed=settings.seed,
        run_dir=run_dir,
        progress=progress,
        grad_cache_chunk=settings.grad_cache_chunk,
    )
    result = trainer.fit(
        TextBatches(train, encoder.tokenize, views=_views(settings)), resume=resume
    )
    encoder.save(run_dir / "model")
    summary = {
        "steps": result.steps,
        "epochs": result.epochs,
        "train_seconds": result.train_seconds,
        "pairs_per_s": result.items_per_second,
        "final_loss": result.final_loss,
        "holdout_before": before,
        "holdout_after": _score(encoder, test),
        "skipped_rows": data.skipped,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def is_text_model(path: str | Path) -> bool:
    """A train-text run, a transformers / sentence-transformers folder, or "minilm"."""
    path = Path(path)
    return str(path) == "minilm" or any(
        (path / name).is_file() for name in ("settings.json", "config.json", "model/config.json")
    )
