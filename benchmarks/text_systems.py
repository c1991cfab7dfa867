"""The systems the text benchmarks compare, each scored the same way.

TF-IDF (scikit-learn), a `TextEncoder` as it is, a `TextEncoder` trained with contrastkit
(`train_text`), and sentence-transformers' own trainer on the same model, batch size and
sequence length (`st_train`), timed the same way: wall clock of a fixed number of steps.

MNRL (multiple-negatives ranking / supervised SimCSE, method "mnrl") is now contrastkit's
shared SimCLR with no projection head at temperature 0.05, on the pairs: the anchor and
positive columns are the two views. Unsupervised SimCSE ("simcse") is the same method on
single texts (two dropout copies of each). The loss is NT-Xent, which also uses the batch's
other anchors as negatives; sentence-transformers' MultipleNegativesRankingLoss in
`st_train` uses only the positives.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from contrastkit.data.text import TextData
from contrastkit.encoders.text import TextEncoder
from contrastkit.evaluate.retrieval import retrieval_metrics
from contrastkit.methods import SimCLR
from contrastkit.train.batches import TextBatches
from contrastkit.train.trainer import Trainer
from contrastkit.views.text import TextViews

__all__ = ["encoder_scores", "st_train", "text_method", "tfidf_scores", "train_text"]

TEXT_METHOD_NAMES = ("mnrl", "simcse")  # both are `text_method`'s SimCLR; the data decides


def text_method(encoder: TextEncoder, method: str = "mnrl", **method_args) -> SimCLR:
    """The contrastkit method formerly named `method`: SimCLR with no projection head,
    temperature 0.05 (unless `method_args` set it).

    "mnrl" (multiple-negatives ranking / supervised SimCSE) trains on pairs, "simcse"
    (unsupervised) on single texts; with the shared methods both are the same SimCLR and
    the `TextData` given to `train_text` decides which it is. Its loss is NT-Xent, which
    also uses the batch's other anchors as negatives (MNRL used only the positives).
    """
    if method not in TEXT_METHOD_NAMES:
        raise ValueError(f"method must be one of {list(TEXT_METHOD_NAMES)}, got {method!r}")
    return SimCLR(encoder, head=torch.nn.Identity(), **{"temperature": 0.05, **method_args})


def tfidf_scores(fit_texts: list[str], test: TextData) -> dict[str, float]:
    """Retrieval of test positives by test anchors with TF-IDF vectors (cosine)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(sublinear_tf=True, min_df=1, ngram_range=(1, 1))
    vec.fit(fit_texts + test.positive)
    q = _sparse_to_dense(vec.transform(test.anchor))
    d = _sparse_to_dense(vec.transform(test.positive))
    return retrieval_metrics(q, d, torch.arange(len(test)))


def _sparse_to_dense(m) -> torch.Tensor:
    return torch.from_numpy(m.toarray()).float()


def encoder_scores(encoder: TextEncoder, test: TextData, precision: str = "fp32") -> dict:
    """Retrieval metrics of the encoder on the test pairs, plus encoding speed."""
    start = time.perf_counter()
    q = encoder.encode(test.anchor, batch_size=64, precision=precision)
    d = encoder.encode(test.positive, batch_size=64, precision=precision)
    seconds = time.perf_counter() - start
    out = retrieval_metrics(q, d, torch.arange(len(test)))
    out["encode_texts_per_s"] = 2 * len(test) / seconds
    return out


def train_text(
    encoder: TextEncoder,
    data: TextData,
    *,
    method: str = "mnrl",
    batch_size: int = 32,
    lr: float = 2e-5,
    steps: int | None = None,
    seconds: float | None = None,
    precision: str = "fp32",
    views: TextViews | None = None,
    seed: int = 0,
    **method_args,
) -> dict:
    """Train `encoder` in place with a contrastkit text method (`text_method`: on pairs in
    `data`, MNRL is now SimCLR with no projection head; on single texts, unsupervised SimCSE)
    with AdamW (weight decay 0.01), 10% warmup, then cosine; wall-clock pairs/s."""
    torch.manual_seed(seed)
    trainer = Trainer(
        text_method(encoder, method, **method_args),
        optimizer="adamw",
        lr=lr,
        weight_decay=0.01,
        warmup=0.1,
        batch_size=batch_size,
        steps=steps,
        max_time=seconds,
        precision=precision,
        seed=seed,
        progress=False,
        log_every=10,
    )
    start = time.perf_counter()
    result = trainer.fit(TextBatches(data, encoder.tokenize, views=views))
    wall = time.perf_counter() - start
    encoder.eval()
    return {
        "steps": result.steps,
        "seconds": wall,
        "pairs_per_s": result.steps * batch_size / wall,
        "final_loss": result.final_loss,
        "epochs": result.epochs,
    }


def st_train(
    model_path: Path, data: TextData, *, steps: int, batch_size: int, lr: float, max_length: int
) -> dict:
    """sentence-transformers' trainer: MultipleNegativesRankingLoss, no-duplicates batches."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )
    from sentence_transformers.training_args import BatchSamplers

    model = SentenceTransformer(str(model_path), device="cpu")
    model.max_seq_length = max_length
    n = steps * batch_size
    dataset = Dataset.from_dict({"anchor": data.anchor[:n], "positive": data.positive[:n]})
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=batch_size,
            max_steps=steps,
            learning_rate=lr,
            warmup_ratio=0.1,
            weight_decay=0.01,
            save_strategy="no",
            report_to="none",
            logging_steps=max(steps // 4, 1),
            use_cpu=True,
            dataloader_num_workers=0,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            disable_tqdm=True,
            seed=0,
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            loss=losses.MultipleNegativesRankingLoss(model),
        )
        start = time.perf_counter()
        out = trainer.train()
        wall = time.perf_counter() - start
    return {
        "steps": steps,
        "seconds": wall,
        "pairs_per_s": steps * batch_size / wall,
        "final_loss": float(out.training_loss),
    }
