"""Image-text pairs: emoji rendered from Noto Color Emoji with their Unicode names, or a
captions CSV (image,caption[,label]).

Two-tower methods (CLIP) train an image tower (a compact CNN by default) and a text tower
(MiniLM from its PyPI package, locked by default, or a small BERT fitted on the training
captions, kept in RUN_DIR/text_init). `data.test_size` of the families (default 20%) is
held out, so test captions are unseen. Views: one mild crop per image (direction and
colour are in the captions, so no flips and no colour changes). Evaluation: image<->text
recall@k, zero-shot accuracy from prompts (emoji), and a linear probe of the image tower,
against chance, raw pixels and the random-init model. Embeddings live in the shared space:
an index of images can be searched with a text, and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from contrastkit.config import Config
from contrastkit.data.emoji import group_prompts, load_emoji
from contrastkit.data.image_text import ImageTextData, load_caption_csv, split_by_family
from contrastkit.data.inputs import as_list, image_batch
from contrastkit.encoders.text import TextEncoder, build_text_encoder
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.evaluate.features import raw_features
from contrastkit.evaluate.linear import linear_probe
from contrastkit.evaluate.zero_shot import chance_scores, clip_scores, embed_image_text
from contrastkit.methods.clip import text_tokenizer
from contrastkit.modalities.base import ItemSet, Modality, Prepared
from contrastkit.modalities.image_config import (
    build_image_encoder,
    build_image_views,
    check_backbone_keys,
    fit_views_to_backbone,
    has_pretrained,
    image_preprocessing,
    with_image_preprocessing,
)
from contrastkit.modalities.sections import (
    ImageTextDataConfig,
    ImageTextModelConfig,
    ImageViewsConfig,
)
from contrastkit.train.checkpoint import load_weights
from contrastkit.train.devices import module_device, to_device
from contrastkit.train.pair_batches import PairBatches

TEXT_LENGTH = 32  # tokens of a caption the text tower reads


@dataclass
class ImageTextPrepared(Prepared):
    train: ImageTextData | None = None
    test: ImageTextData | None = None
    prompts: tuple[list[str], torch.Tensor] | None = None
    text_start: TextEncoder | None = None
    extra: dict = field(default_factory=dict)


class ImageTextModality(Modality):
    name = "image-text"
    embed_chunk = 4096
    summary = "image-caption pairs: a .csv of image,caption[,label] rows, or emoji"
    datasets = {"emoji": "3,655 Noto Color Emoji with their Unicode names as captions"}
    data_config, model_config, views_config = (
        ImageTextDataConfig, ImageTextModelConfig, ImageViewsConfig,
    )  # fmt: skip
    towers = 2
    data_free = True
    main_metric = "image_to_text/recall@1"

    def detect(self, path: Path) -> bool:
        if path.suffix.lower() != ".csv":
            return False
        header = path.open(encoding="utf-8", errors="replace").readline().lower()
        return {"image", "caption"} <= {h.strip() for h in header.split(",")}

    def view_count(self, cfg: Config) -> int:
        return cfg.views.n_views + 1  # the image view and the caption

    def recipe_defaults(self, tree: dict[str, Any]) -> dict[str, Any]:
        scratch = (tree.get("model") or {}).get("text_model") == "scratch"
        name = (tree.get("method") or {}).get("name", "clip")
        two_tower = name in ("clip", "siglip")  # a pre-trained text tower stays locked (LiT)
        return {
            "method": {"name": name, "lock_text": not scratch} if two_tower else {},
            "views": {"n_views": 1, "crop_scale": [0.6, 1.0], "flip_p": 0.0, "brightness": 0.2,
                      "contrast": 0.2, "saturation": 0.0, "hue": 0.0, "grayscale_p": 0.0,
                      "blur_p": 0.0},
            "optim": {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05, "warmup": 0.05},
            "train": {"batch_size": 128, "precision": "fp32", "channels_last": False,
                      "monitor_every": 0},
        }  # fmt: skip

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        self.check_test_size(cfg, count=False)
        check_backbone_keys(cfg.model)
        if cfg.model.text_model == "scratch" and cfg.method.params.get("lock_text"):
            raise ConfigError(
                "config key 'method.lock_text': a text tower trained from scratch cannot be "
                "locked (it would stay random); set method.lock_text=false"
            )

    def prepare(self, cfg: Config, run_dir: Path | None) -> ImageTextPrepared:
        d = cfg.data
        emoji = d.dataset.strip().lower() in self.datasets
        data = load_emoji(d.image_size, caption=d.caption) if emoji else load_caption_csv(
            d.dataset, size=d.image_size)  # fmt: skip
        train, test = split_by_family(data, d.test_size or 0.2, cfg.train.seed)
        out = ImageTextPrepared(
            f"{data.name}: {len(train):,} train / {len(test):,} held-out pairs", train.labels,
            [], train, test,
            group_prompts(train, unseen_in=train.captions) if emoji else None,
        )  # fmt: skip
        init = run_dir / "text_init" if run_dir is not None else None
        m = cfg.model
        if init is not None and init.is_dir():  # resume / evaluate: the run's own tower
            out.text_start = TextEncoder.from_pretrained(init)
            return out
        scratch = {}
        if m.text_model == "scratch":  # a small BERT, its vocabulary fitted on the captions
            scratch = {"vocab_size": 4000, "dim": m.text_dim, "layers": m.text_layers,
                       "heads": max(1, m.text_dim // 32)}  # fmt: skip
        out.text_start = build_text_encoder(
            m.text_model, train.captions, max_length=TEXT_LENGTH, seed=cfg.train.seed, **scratch
        )
        return out

    def write_artifacts(self, cfg: Config, data: ImageTextPrepared, run_dir: Path) -> None:
        if cfg.model.text_model == "scratch" and not (run_dir / "text_init").is_dir():
            data.text_start.save(run_dir / "text_init")  # its vocabulary does not refit exactly

    def resolve(self, cfg: Config, data: ImageTextPrepared) -> Config:
        cfg = cfg.model_copy(deep=True)
        fit_views_to_backbone(cfg, 3)
        cfg.views.size = cfg.views.size or cfg.data.image_size
        return cfg

    def build_encoder(self, cfg: Config, data: ImageTextPrepared) -> torch.nn.Module:
        return build_image_encoder(cfg.model, 3)

    def method_kwargs(self, cfg: Config, data: ImageTextPrepared) -> dict[str, Any]:
        import copy

        return {"text_encoder": copy.deepcopy(data.text_start)}

    def batches(self, cfg: Config, data: ImageTextPrepared, method, device: torch.device):
        t = data.train
        return PairBatches(t.images, t.captions, text_tokenizer(method),
                           image_views=build_image_views(cfg.views), device=device)  # fmt: skip

    def export(self, method, cfg: Config, data: ImageTextPrepared, run_dir: Path) -> None:
        if not method.lock_text:  # the trained text tower as a sentence-transformers folder
            method.text_encoder.save(run_dir / "text")

    def preprocessing(self, cfg: Config, data: ImageTextPrepared) -> dict[str, Any]:
        """How images are read (`image_preprocessing`) and where the text tower's tokenizer
        and architecture come from: text_init/ (a tower fitted on the captions) or the
        model named by `model.text_model` (its weights are in method.safetensors)."""
        scratch = cfg.model.text_model == "scratch"
        tower = "text_init" if scratch else cfg.model.text_model
        return image_preprocessing(cfg, 3) | {"text_tower": tower, "max_length": TEXT_LENGTH}

    def without_data(self, cfg: Config, record: dict[str, Any], folder: Path):
        cfg = with_image_preprocessing(cfg, record)
        data = ImageTextPrepared(f"{cfg.data.dataset} (not read: loaded from {folder})", None)
        if record["text_tower"] == "text_init":
            data.text_start = TextEncoder.from_pretrained(Path(folder) / "text_init")
        else:
            data.text_start = build_text_encoder(
                record["text_tower"], [], max_length=record["max_length"]
            )
        return cfg, data

    def load_trained(self, cfg: Config, data: ImageTextPrepared, run_dir: Path) -> Any:
        super().load_trained(cfg, data, run_dir)  # a clear error when the run is unfinished
        method = self.new_method(cfg, data)
        return load_weights(method, run_dir / "method.safetensors").eval()

    def baselines(self, cfg: Config, data: ImageTextPrepared) -> list[tuple[str, Any]]:
        start = "pretrained start" if has_pretrained(cfg.model) else "random-init model"
        return [("chance", "chance"), ("raw pixels", "raw"), (start, self.new_method(cfg, data))]

    def score(self, model: Any, cfg: Config, data: ImageTextPrepared) -> dict[str, float]:
        train, test = data.train, data.test
        if model == "chance":
            return chance_scores(test)
        prepare = build_image_views(cfg.views).preprocess
        if model == "raw":
            f_train, f_test = raw_features(train.images), raw_features(test.images)
            return _probe(f_train, train, f_test, test)
        model.eval()
        out = clip_scores(model, test, text_tokenizer(model), prepare=prepare, prompts=data.prompts)
        f_train = _image_features(model, train.images, prepare)
        f_test = _image_features(model, test.images, prepare)
        return out | _probe(f_train, train, f_test, test)

    def items(self, cfg: Config, data: ImageTextPrepared, split: str) -> ItemSet:
        return _item_set(data.train if split == "train" else data.test)

    def read_source(self, cfg: Config, data: ImageTextPrepared, source: str, split: str):
        return _item_set(load_caption_csv(source, size=cfg.data.image_size))

    def embed(self, model: Any, items: ItemSet, cfg: Config, data: Prepared) -> np.ndarray:
        """Shared-space embeddings: of images (a tensor of items) or of texts (strings)."""
        prepare = build_image_views(cfg.views).preprocess
        if isinstance(items.items, torch.Tensor):
            img, _ = embed_image_text(
                model, items.items, [], text_tokenizer(model), prepare=prepare
            )
            return img.numpy()
        _, txt = embed_image_text(model, torch.zeros(0, 3, 1, 1, dtype=torch.uint8),
                                  items.items, text_tokenizer(model), prepare=prepare)  # fmt: skip
        return txt.numpy()

    def as_items(self, cfg: Config, data: Prepared, inputs: Any, kind: str | None) -> ItemSet:
        """Captions (strings) into the text tower, or images (`image_batch`: files, PIL
        images, arrays, tensors) into the image tower; strings are texts unless `kind` is
        "image" (then they are image files)."""
        if kind not in (None, "image", "text"):
            raise ContrastkitError(
                f"kind must be 'image' or 'text' for an image-text model, got {kind!r}"
            )
        texts = isinstance(inputs, str) or (
            isinstance(inputs, list | tuple) and all(isinstance(x, str) for x in inputs)
        )
        if kind == "text" or (kind is None and texts):
            captions = as_list(inputs)
            return ItemSet(captions, [str(i) for i in range(len(captions))], texts=captions)
        images = image_batch(inputs, cfg.data.image_size, 3)
        return ItemSet(images, [str(i) for i in range(len(images))])

    def read_query(self, model: Any, cfg: Config, data: Prepared, query: str, kind: str):
        if kind == "text":
            return ItemSet([query], ["query"], texts=[query])
        from contrastkit.data.folder import load_image_file

        image = load_image_file(query, image_size=cfg.data.image_size, channels=3)
        return ItemSet(image[None], [Path(query).name])


@torch.no_grad()
def _image_features(model: Any, images: torch.Tensor, prepare: Any) -> torch.Tensor:
    """(N, D) image-tower features (before the projection) on the CPU, computed batch by
    batch on the model's device."""
    device = module_device(model)
    return torch.cat(
        [model.encoder(prepare(to_device(x, device))).cpu() for x in images.split(256)]
    )


def _probe(f_train, train: ImageTextData, f_test, test: ImageTextData) -> dict[str, float]:
    if train.labels is None or test.labels is None:
        return {}
    report = linear_probe(f_train.float(), train.labels, f_test.float(), test.labels)
    return {"linear_top1": report.accuracy}


def _item_set(d: ImageTextData) -> ItemSet:
    labels = None if d.labels is None else d.labels.numpy()
    return ItemSet(d.images, list(d.ids), labels, d.classes, texts=list(d.captions), name=d.name)
