"""Texts: plain texts (.txt), pairs and triplets (.csv/.tsv/.jsonl or the string columns
of a Hugging Face dataset saved to disk), named text sets.

Items are rows of the file. With pairs (`views.pairs`, the default) the views are the
columns, anchor and positive (supervised SimCSE / multiple-negatives ranking when trained
with SimCLR without a projection head), and a triplet's negative column is given to the
methods that take hard negatives; otherwise every text is an item and its views are
dropout copies (unsupervised SimCSE) or word-level edits. Scored pairs (a score column)
train CoSENT and AnglE and are evaluated by the Spearman correlation of the cosine
similarities with the held-out scores. The encoder is a transformers
model from a local folder (MiniLM from its PyPI package by default) or a small BERT trained
from scratch; the starting encoder is kept in RUN_DIR/init (exact resumes) and the trained
one exported to RUN_DIR/model as a sentence-transformers folder. Evaluation: retrieval of
held-out pairs (recall@k, MRR, nDCG) and, with labels, kNN and a linear probe, against
TF-IDF, the random-init encoder and the pretrained start.
"""

from __future__ import annotations

import copy
import csv
import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from contrastkit.config import Config
from contrastkit.data.hf_source import hf_kind, is_hf_source, load_hf_texts
from contrastkit.data.inputs import as_list
from contrastkit.data.text import COLUMN_ALIASES, TextData, load_texts, split_texts
from contrastkit.data.text_datasets import SCORED_TEXT_DATASETS, TEXT_DATASETS, load_named_texts
from contrastkit.encoders.text import TextEncoder, build_text_encoder
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.evaluate.retrieval import retrieval_metrics
from contrastkit.evaluate.similarity import similarity_correlation
from contrastkit.evaluate.tfidf import TfidfFeatures
from contrastkit.methods.registry import METHODS
from contrastkit.modalities.base import (
    ENCODER_FILE,
    ItemSet,
    Modality,
    Prepared,
    classification_scores,
)
from contrastkit.modalities.sections import TextDataConfig, TextModelConfig, TextViewsConfig
from contrastkit.train.batches import TextBatches
from contrastkit.train.precision import inference_autocast
from contrastkit.views.text import TextViews

ROTATION_TEXTS = 6000  # training texts (a seeded sample) that model.rotation 'pca' is fit on
EVAL_BANK = 2000  # labelled training texts embedded for kNN / linear-probe evaluation


@dataclass
class TextPrepared(Prepared):
    train: TextData = field(default_factory=lambda: TextData([]))
    test: TextData | None = None
    classes: list[str] | None = None
    start: TextEncoder | None = None  # the encoder training starts from


class TextModality(Modality):
    name = "text"
    embed_chunk = 4096
    summary = (
        "texts: .txt (one per line), .csv/.tsv/.jsonl texts, pairs or triplets, or a "
        "Hugging Face dataset of string columns"
    )
    datasets = TEXT_DATASETS
    data_config, model_config, views_config = TextDataConfig, TextModelConfig, TextViewsConfig
    main_metric = "recall@1"
    data_free = True

    def detect(self, path: Path) -> bool:
        if is_hf_source(path):
            return hf_kind(path) == "text"
        if path.suffix.lower() in (".txt", ".jsonl", ".ndjson"):
            return True
        if path.suffix.lower() not in (".csv", ".tsv"):
            return False
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            header = next(csv.reader(f, delimiter="\t" if path.suffix == ".tsv" else ","), [])
        return bool({h.strip().lower() for h in header} & set(COLUMN_ALIASES["anchor"]))

    def recipe_defaults(self, tree: dict[str, Any]) -> dict[str, Any]:
        scratch = (tree.get("model") or {}).get("name") == "scratch"
        scored = str(tree["data"]["dataset"]).strip().lower() in SCORED_TEXT_DATASETS
        name = (tree.get("method") or {}).get("name", "cosent" if scored else "simclr")
        # in-batch similarity on the sentence embeddings themselves, as SimCSE and
        # multiple-negatives ranking do (no head, temperature 0.05); the methods that
        # need a projector (SwAV, BYOL, ...) keep theirs: without it SwAV collapsed here
        in_batch = name in ("simclr", "supcon", "dcl", "contrastive", "triplet")
        method = {"temperature": 0.05} if name in ("simclr", "supcon", "dcl") else {}
        if name == "triplet":  # batch-hard mining collapsed text encoders from scratch here
            method["miner"] = "batch_all"
        return {
            "model": {"proj_dim": 0} if in_batch else {},
            "optim": {"optimizer": "adamw", "lr": 5e-4 if scratch else 2e-5,
                      "weight_decay": 0.01, "warmup": 0.1},
            "train": {"batch_size": 32, "channels_last": False, "monitor_every": 0},
            "method": {"name": name, **method},
        }  # fmt: skip

    def prepare(self, cfg: Config, run_dir: Path | None) -> TextPrepared:
        d = cfg.data
        named = d.dataset.strip().lower()
        if named in self.datasets:
            data = load_named_texts(named)
        else:
            data = _read_texts(d.dataset, d.columns)
        if METHODS[cfg.method.name].needs_scores and data.score is None:
            raise ConfigError(
                f"config key 'method.name': {cfg.method.name} trains on scored pairs, but "
                f"{data.source} has no score column (expected text_a/text_b/score or "
                "sentence1/sentence2/score)"
            )
        if data.score is not None and not METHODS[cfg.method.name].needs_scores:
            warnings.warn(
                f"{data.source} has a score column, which {cfg.method.name} ignores: it "
                "trains every pair as a positive, low scores included; --method cosent or "
                "angle rank the pairs by their scores",
                stacklevel=2,
            )
        size = d.test_size or min(500, max(1, len(data) // 5))  # 500, or a fifth of less
        train, test = split_texts(data, size, cfg.train.seed, d.max_items)
        if not cfg.views.pairs and train.positive is not None:  # every text alone, labelled
            label = None if train.label is None else train.label * 2
            negatives = train.negative if label is None else None  # (have no label)
            texts = train.anchor + train.positive + (negatives or [])
            train = TextData(texts, label=label, source=train.source)
        classes = sorted(set(data.label)) if data.label is not None else None
        labels = _codes(train.label, classes)
        skipped = [(f"line {n}", why) for n, why in data.skipped]
        what = f"{len(train):,} {train.kind}" + (f", {len(test):,} held out" if test else "")
        out = TextPrepared(f"{data.source}: {what}", labels, skipped, train, test, classes)
        out.start = self._start(cfg, out, run_dir)
        return out

    def _start(self, cfg: Config, data: TextPrepared, run_dir: Path | None) -> TextEncoder:
        init = run_dir / "init" if run_dir is not None else None
        if init is not None and init.is_dir():  # resume / evaluate: the run's exact start
            return TextEncoder.from_pretrained(init)
        m, t = cfg.model, data.train
        encoder = build_text_encoder(
            m.name, _corpus(t), max_length=m.max_length, seed=cfg.train.seed,
            vocab_size=m.vocab_size, dim=m.dim, layers=m.layers, heads=m.heads,
        )  # fmt: skip
        if m.rotation == "pca":  # kept in RUN_DIR/init with the start, so fitted once per run
            rotate_start(encoder, cfg, t)
        return encoder

    def write_artifacts(self, cfg: Config, data: TextPrepared, run_dir: Path) -> None:
        if not (run_dir / "init").is_dir():  # a scratch vocabulary does not refit exactly
            data.start.save(run_dir / "init")

    def build_encoder(self, cfg: Config, data: TextPrepared) -> TextEncoder:
        return copy.deepcopy(data.start)

    def batches(self, cfg: Config, data: TextPrepared, method, device: torch.device):
        v = cfg.views
        views = None
        if v.delete_p or v.synonym_p:
            from contrastkit.data.wordnet import load_wordnet, synonym_table

            synonyms = synonym_table(load_wordnet()) if v.synonym_p else None
            views = TextViews.eda(p_delete=v.delete_p, synonyms=synonyms, p_synonym=v.synonym_p,
                                  n_views=v.n_views)  # fmt: skip
        elif data.train.positive is None:
            views = TextViews.simcse(v.n_views)
        return TextBatches(data.train, method.encoder.tokenize, views=views,
                           negatives=type(method).uses_negatives)  # fmt: skip

    def export(self, method, cfg: Config, data: TextPrepared, run_dir: Path) -> None:
        method.encoder.save(run_dir / "model")

    def preprocessing(self, cfg: Config, data: TextPrepared) -> dict[str, Any]:
        """The trained model's folder (model/: its tokenizer, weights and pooling)."""
        return {"model": "model", "max_length": cfg.model.max_length}

    def without_data(self, cfg: Config, record: dict[str, Any], folder: Path):
        model = Path(folder) / record["model"] / "config.json"
        if Path(folder, ENCODER_FILE).is_file() and not model.is_file():
            raise ContrastkitError(
                f"{model} does not exist: a text model is its tokenizer and weights in "
                f"{model.parent}; copy that folder with the run"
            )
        return cfg, TextPrepared(f"{cfg.data.dataset} (not read: loaded from {folder})", None)

    def load_trained(self, cfg: Config, data: TextPrepared, run_dir: Path) -> TextEncoder:
        if not (run_dir / "model" / "config.json").is_file():
            raise ContrastkitError(
                f"{run_dir} has no model/ folder: the run has not finished; resume it with "
                f"`contrastkit train --resume {run_dir}`"
            )
        return TextEncoder.from_pretrained(run_dir / "model")

    def baselines(self, cfg: Config, data: TextPrepared) -> list[tuple[str, Any]]:
        random_init = data.start  # from scratch, the start is the seeded random init
        if cfg.model.name != "scratch":
            random_init = copy.deepcopy(data.start)
            random_init.model.apply(random_init.model._init_weights)
        out = [("TF-IDF", TfidfFeatures(_texts(data.train))), ("random-init encoder", random_init)]
        if cfg.model.name != "scratch":
            out.append(("pretrained start", data.start))
        return out

    def score(self, model, cfg: Config, data: TextPrepared) -> dict[str, float]:
        embed = model if isinstance(model, TfidfFeatures) else model.encode
        test, out = data.test, {}
        if test is None:
            raise ContrastkitError(f"{data.description} has no pairs or labels to evaluate on")
        if test.positive is not None:
            q, d = embed(test.anchor), embed(test.positive)
            if test.score is not None:  # scored pairs: not all are matches to retrieve
                rho = similarity_correlation(torch.as_tensor(q), torch.as_tensor(d), test.score)
                out.update(spearman=rho["spearman"], pearson=rho["pearson"])
            else:
                out.update(retrieval_metrics(q, d, torch.arange(len(test))))
        if test.label is not None and data.train.label is not None:
            bank = random.Random(0).sample(range(len(data.train)), min(EVAL_BANK, len(data.train)))
            train = data.train.subset(sorted(bank))
            f_train, f_test = embed(train.anchor), embed(test.anchor)
            labels = _codes(train.label, data.classes), _codes(test.label, data.classes)
            out.update(classification_scores(f_train, labels[0], f_test, labels[1], cfg))
        return out

    def items(self, cfg: Config, data: TextPrepared, split: str) -> ItemSet:
        if not len(data.train):
            raise ContrastkitError("a text model embeds a text file: pass --data FILE")
        if split == "test" and data.test is None:
            raise ContrastkitError(f"{cfg.data.dataset} has no held-out pairs or labels")
        return _item_set(data.train if split == "train" else data.test, data.classes, split)

    def read_source(self, cfg: Config, data: TextPrepared, source: str, split: str) -> ItemSet:
        return _item_set(_read_texts(source, cfg.data.columns), None, Path(source).stem)

    def embed(self, model, items: ItemSet, cfg: Config, data: Prepared) -> np.ndarray:
        return model.encode(items.items).numpy()

    def as_items(self, cfg: Config, data: Prepared, inputs, kind: str | None) -> ItemSet:
        texts = as_list(inputs)
        if not all(isinstance(t, str) for t in texts):
            raise ContrastkitError("a text model encodes strings")
        return ItemSet(texts, [str(i) for i in range(len(texts))], texts=texts)

    def read_query(self, model, cfg: Config, data: Prepared, query: str, kind: str) -> ItemSet:
        if kind != "text":
            raise ContrastkitError("a text index is queried with --text or --id")
        return ItemSet([query], ["query"], texts=[query])


def _texts(data: TextData) -> list[str]:
    return data.anchor + (data.positive or [])


def _corpus(data: TextData) -> list[str]:
    """Every text of `data`: anchors, positives and negatives."""
    return [x for col in (data.anchor, data.positive, data.negative) if col for x in col]


def _codes(labels: list[str] | None, classes: list[str] | None) -> torch.Tensor | None:
    if labels is None or classes is None:
        return None
    index = {c: i for i, c in enumerate(classes)}
    return torch.tensor([index[x] for x in labels], dtype=torch.int64)


def rotate_start(encoder: TextEncoder, cfg: Config, train: TextData) -> TextEncoder:
    """Set `encoder`'s PCA rotation (`model.rotation: pca`) from a seeded sample of up to
    ROTATION_TEXTS of `train`'s texts, embedded in the run's precision (in place)."""
    corpus = _corpus(train)
    sample = random.Random(cfg.train.seed).sample(corpus, min(len(corpus), ROTATION_TEXTS))
    print(f"model.rotation pca: fitting the principal axes of {len(sample):,} texts")
    bf16 = inference_autocast(cfg.train.precision, torch.device("cpu")) == torch.bfloat16
    return encoder.fit_pca_rotation(sample, precision="bf16" if bf16 else "fp32")


def _read_texts(source: str, columns: dict[str, str] | None) -> TextData:
    """A text file's rows, or a Hugging Face dataset's (its train split)."""
    if is_hf_source(source):
        return load_hf_texts(source, columns=columns)
    return load_texts(source, columns=columns)


def _item_set(data: TextData, classes: list[str] | None, name: str) -> ItemSet:
    """Anchors, then positives (ids "<name>/anchor/i", "<name>/positive/i"), labelled alike."""
    texts, ids = list(data.anchor), [f"{name}/anchor/{i}" for i in range(len(data))]
    if data.positive is not None:
        texts += data.positive
        ids += [f"{name}/positive/{i}" for i in range(len(data))]
    if classes is None and data.label is not None:
        classes = sorted(set(data.label))
    codes = _codes(data.label, classes)
    labels = None if codes is None else np.tile(codes.numpy(), len(texts) // len(data))
    return ItemSet(texts, ids, labels, classes, texts=texts, name=name)
