"""Images: named datasets (Fashion-MNIST, digits), image folders, WebDataset-style tar
shards and Hugging Face datasets with an image column.

Training items are uint8 images decoded once into memory or, for a folder, tar shards or
a Hugging Face dataset whose decoded images exceed `data.max_memory`, streamed from disk
and decoded in worker processes;
views are batched tensor augmentations (`ImageViews`); the default encoder is a compact
CNN. A labelled folder has no test split, so `data.test_size` of it (default 20%) is
held out for evaluation. Labelled data also gives `data.holdout` monitor queries, held
out of training (default: 10% of the training items, at most 1,000, none below 500).
Without a recipe, views, backbone, batch, budget and kNN k are chosen from a look at the
data (`data_defaults`, see `image_defaults`). Evaluation: weighted kNN and a linear
probe, against raw pixels and the random-init encoder (and the pretrained start, for a
backbone with pretrained weights).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from contrastkit.config import Config
from contrastkit.data.dataset import ImageDataset
from contrastkit.data.folder import IMAGE_EXTENSIONS
from contrastkit.data.folder_stream import decoded_bytes, parse_bytes, stream_image_folder
from contrastkit.data.hf_source import hf_kind
from contrastkit.data.image_facts import read_image_facts
from contrastkit.data.inputs import image_batch
from contrastkit.data.lazy_images import LazyImages
from contrastkit.data.m_per_class import check_m_per_class
from contrastkit.data.registry import DATASETS, has_test_split, indexed_source, load_dataset
from contrastkit.data.splits import split_images
from contrastkit.data.tar_shards import is_tar_source
from contrastkit.errors import ContrastkitError
from contrastkit.evaluate.features import extract_features, raw_features
from contrastkit.modalities.base import (
    DefaultChoice,
    ItemSet,
    Modality,
    Prepared,
    classification_scores,
    few_label_rows,
    trained_weights,
)
from contrastkit.modalities.image_config import (
    build_image_encoder,
    build_image_views,
    check_backbone_keys,
    fit_views_to_backbone,
    has_pretrained,
    image_preprocessing,
    with_image_preprocessing,
)
from contrastkit.modalities.image_defaults import choose_image_defaults
from contrastkit.modalities.sections import ImageDataConfig, ImageModelConfig, ImageViewsConfig
from contrastkit.train import ddp
from contrastkit.train.batches import ImageBatches
from contrastkit.train.checkpoint import load_weights
from contrastkit.train.devices import module_device
from contrastkit.train.monitor import KnnMonitor
from contrastkit.train.precision import inference_autocast
from contrastkit.train.stream_batches import StreamingImageBatches, default_workers


@dataclass
class ImageData(Prepared):
    train: ImageDataset | None = None  # what training draws from
    monitor_queries: ImageDataset | None = None  # held out of `train` for the kNN monitor
    test: ImageDataset | None = None
    pool: ImageDataset | None = None  # train + monitor queries, in the data's order


class ImageModality(Modality):
    name = "image"
    embed_chunk = 4096
    summary = (
        "images: a named dataset, a folder of PNG/JPEG images (one subfolder per class), "
        "tar shards or a Hugging Face dataset with an image column"
    )
    datasets = DATASETS
    aliases = {"fmnist": "fashion-mnist"}
    has_few_labels = True
    has_transfer = True
    data_free = True
    data_config, model_config, views_config = ImageDataConfig, ImageModelConfig, ImageViewsConfig
    main_metric = "knn_top1"

    def detect(self, path: Path) -> bool:
        if is_tar_source(path) or hf_kind(path) == "image":
            return True
        return path.is_dir() and any(
            p.suffix.lower() in IMAGE_EXTENSIONS for p in [*path.iterdir(), *path.glob("*/*")]
        )

    def view_count(self, cfg: Config) -> int:
        return cfg.views.n_views + cfg.views.local_views

    def data_defaults(self, cfg: Config, given: set[str]) -> list[DefaultChoice]:
        """Views, size, backbone, batch, budget, hold-out and kNN k from a look at the
        data (`image_defaults`; the user's keys are left alone)."""
        d = cfg.data
        facts = read_image_facts(
            d.dataset, data_dir=d.data_dir, image_size=d.image_size, channels=d.channels
        )
        return choose_image_defaults(facts, test_size=d.test_size, given=given)

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        fixed = (
            f"{cfg.data.dataset} has its own test split"
            if has_test_split(cfg.data.dataset)
            else None
        )
        self.check_test_size(cfg, count=True, fixed=fixed)
        check_backbone_keys(cfg.model)

    def prepare(self, cfg: Config, run_dir: Path | None) -> ImageData:
        d = cfg.data
        kw = dict(data_dir=d.data_dir, image_size=d.image_size, channels=d.channels)
        budget = parse_bytes(d.max_memory)
        train = indexed_source(d.dataset, "train", d.image_size, d.channels)
        if train is not None:  # tar shards, a Hugging Face dataset: streamed over the budget
            train = train if train.images.nbytes > budget else train.decoded()
        elif decoded_bytes(d.dataset, d.image_size, d.channels) > budget:  # 0 but for folders
            train = stream_image_folder(d.dataset, d.image_size, d.channels)
        else:
            train = load_dataset(d.dataset, "train", **kw)
        test = None
        if has_test_split(d.dataset):
            test = indexed_source(d.dataset, "test", d.image_size, d.channels)
            if test is None:
                test = load_dataset(d.dataset, "test", **kw)
            elif test.images.nbytes <= budget:
                test = test.decoded()
        s = split_images(
            train, test, test_size=d.test_size or 0.2, exclude_classes=d.exclude_classes,
            holdout=d.holdout, seed=cfg.train.seed, group=d.group,
        )  # fmt: skip
        train, test = s.train, s.test
        n_test = f" / {len(test):,} test" if test is not None else ""
        return ImageData(
            f"{train.name}: {len(train):,} train{n_test} images {tuple(train.images.shape[1:])}",
            train.labels,
            list(train.skipped),
            train,
            s.queries,
            test,
            s.pool,
        )

    def resolve(self, cfg: Config, data: ImageData) -> Config:
        """View size and per-channel normalisation: what a backbone of another library
        expects (`fit_views_to_backbone`), else from the training images."""
        cfg = cfg.model_copy(deep=True)
        images = data.train.images
        height, width = images.shape[2:]
        if cfg.data.image_size is None and height == width:
            cfg.data.image_size = int(height)  # other data embedded later is resized to match
        fit_views_to_backbone(cfg, int(images.shape[1]))
        cfg.views.size = cfg.views.size or int(height)
        if cfg.views.mean is None or cfg.views.std is None:
            cfg.views.mean, cfg.views.std = data.train.channel_stats()
        if len(cfg.views.mean) != images.shape[1] or len(cfg.views.std) != images.shape[1]:
            raise ContrastkitError(
                f"views.mean/std have {len(cfg.views.mean)}/{len(cfg.views.std)} values, "
                f"the images have {images.shape[1]} channels"
            )
        return cfg

    def build_encoder(
        self, cfg: Config, data: ImageData, *, pretrained: bool = True
    ) -> torch.nn.Module:
        """The configured backbone; `pretrained=False`: without `model.weights`."""
        channels = len(cfg.views.mean or [data.train.channels])
        return build_image_encoder(cfg.model, channels, pretrained=pretrained)

    def batches(self, cfg: Config, data: ImageData, method, device: torch.device):
        views = build_image_views(cfg.views)
        if cfg.data.dataset not in DATASETS:  # a folder, shards: say how it is read, and why
            _say_choice(cfg.data.dataset, data.train.images, cfg.data.max_memory)
        m = cfg.data.m_per_class
        if m is not None:
            try:
                check_m_per_class(data.train.labels, m, cfg.train.batch_size, ddp.world_size())
            except ValueError as exc:
                raise ContrastkitError(str(exc)) from None
        if isinstance(data.train.images, LazyImages):
            return StreamingImageBatches(
                data.train, views, device=device, channels_last=cfg.train.channels_last,
                workers=cfg.data.workers, skipped=data.skipped, m_per_class=m,
            )  # fmt: skip
        return ImageBatches(
            data.train, views, device=device, channels_last=cfg.train.channels_last, m_per_class=m
        )

    def monitor(self, cfg: Config, data: ImageData, method) -> KnnMonitor | None:
        if cfg.train.monitor_every == 0 or data.monitor_queries is None:
            return None
        g = torch.Generator().manual_seed(cfg.train.seed + 1)
        bank = torch.randperm(len(data.train), generator=g)[: cfg.data.monitor_bank]
        q = data.monitor_queries
        queries = q.images[:] if isinstance(q.images, LazyImages) else q.images  # decoded once
        return KnnMonitor(
            data.train.images[bank], data.train.labels[bank], queries, q.labels,
            preprocess=build_image_views(cfg.views).preprocess, k=cfg.eval.knn_k,
            temperature=cfg.eval.knn_temperature, batch_size=cfg.eval.batch_size,
        )  # fmt: skip

    def preprocessing(self, cfg: Config, data: ImageData) -> dict[str, Any]:
        """Decoding size, channels, eval size and normalisation (`image_preprocessing`)."""
        return image_preprocessing(cfg, len(cfg.views.mean or [data.train.channels]))

    def without_data(self, cfg: Config, record: dict[str, Any], folder: Path):
        cfg = with_image_preprocessing(cfg, record)
        return cfg, ImageData(f"{cfg.data.dataset} (not read: loaded from {folder})", None)

    def load_trained(self, cfg: Config, data: Prepared, run_dir: Path) -> torch.nn.Module:
        """The encoder with the run's weights, built without `model.weights` (the run's
        replace every one, so that file need not be on this machine)."""
        encoder = self.build_encoder(cfg, data, pretrained=False)
        return load_weights(encoder, trained_weights(run_dir)).eval()

    def baselines(self, cfg: Config, data: ImageData) -> list[tuple[str, object]]:
        out = [
            ("raw pixels", raw_features),
            ("random-init encoder", self.build_encoder(cfg, data, pretrained=False)),
        ]
        if has_pretrained(cfg.model):
            out.append(("pretrained start", self.build_encoder(cfg, data)))
        return out

    def score(self, model, cfg: Config, data: ImageData) -> dict[str, float]:
        train, test = evaluation_split(data)
        embed = model if model is raw_features else partial(embed_images, model, cfg=cfg)
        return classification_scores(
            embed(train.images), train.labels, embed(test.images), test.labels, cfg
        )

    def few_label_rows(self, trained, cfg: Config, data: ImageData) -> list[dict]:
        train, test = evaluation_split(data)
        return few_label_rows(
            trained, lambda: self.build_encoder(cfg, data, pretrained=False),
            (train.images, train.labels),
            (test.images, test.labels), cfg, self.embed_input(cfg, data),
        )  # fmt: skip

    def embed_input(self, cfg: Config, data: Prepared):
        return build_image_views(cfg.views).preprocess  # to float, resize, normalise

    def items(self, cfg: Config, data: ImageData, split: str) -> ItemSet:
        if split == "test" and data.test is None:
            raise ContrastkitError(f"{cfg.data.dataset} has no test split")
        return self._item_set(data.pool if split == "train" else data.test)

    def read_source(self, cfg: Config, data: ImageData, source: str, split: str) -> ItemSet:
        """`source` at the run's image size, in its channels (grey from colour by luma,
        colour from grey by repeating it)."""
        channels = len(cfg.views.mean or [1])
        return self._item_set(
            load_dataset(source, split, image_size=cfg.data.image_size, channels=channels)
        )

    def labelled_source(self, cfg: Config, data: ImageData, source: str):
        test = self.read_source(cfg, data, source, "test") if has_test_split(source) else None
        return self.read_source(cfg, data, source, "train"), test

    @staticmethod
    def _item_set(d: ImageDataset) -> ItemSet:
        labels = None if d.labels is None else d.labels.numpy()
        return ItemSet(d.images, list(d.ids), labels, d.classes, name=d.name)

    def embed(self, model, items: ItemSet, cfg: Config, data: Prepared) -> np.ndarray:
        return embed_images(model, items.items, cfg).numpy()

    def as_items(self, cfg: Config, data: Prepared, inputs, kind: str | None) -> ItemSet:
        """Image files, PIL images, arrays or (N, C, H, W) tensors (`image_batch`)."""
        images = image_batch(inputs, cfg.data.image_size, len(cfg.views.mean or [1]))
        return ItemSet(images, [str(i) for i in range(len(images))])

    def read_query(self, model, cfg: Config, data: ImageData, query: str, kind: str) -> ItemSet:
        from contrastkit.data.folder import load_image_file

        if kind != "file":
            raise ContrastkitError("an image index is queried with --file IMAGE or --id")
        channels = len(cfg.views.mean or [1])
        image = load_image_file(query, image_size=cfg.data.image_size, channels=channels)
        return ItemSet(image[None], [Path(query).name])


def _say_choice(folder: str, images, max_memory: str) -> None:
    """Print whether the training images of a folder, tar shards or a Hugging Face dataset
    are streamed or in memory, and why (rank 0; when training starts, so that a mistake
    found before is the only line)."""
    if ddp.is_main():
        stream = isinstance(images, LazyImages)
        how = (
            f"streamed from disk ({default_workers()} decoding processes by default)"
            if stream
            else "decoded into memory"
        )
        print(f"{folder}: {images.nbytes / 1e6:,.0f} MB of training images decoded, "
              f"data.max_memory {max_memory}: {how}", file=sys.stderr)  # fmt: skip


def evaluation_split(data: ImageData) -> tuple[ImageDataset, ImageDataset]:
    """The labelled (train, test) pair of an evaluation: the whole training split (monitor
    queries included) as kNN bank and probe training set, and the test split."""
    if data.train.labels is None or data.test is None:
        raise ContrastkitError(
            f"{data.train.name} has no labels, so there is nothing to evaluate against; "
            "use one subfolder per class to give labels"
        )
    return data.pool, data.test


def embed_images(encoder: torch.nn.Module, images: torch.Tensor, cfg: Config) -> torch.Tensor:
    """(N, C, H, W) uint8 -> (N, D) float32 features with the run's eval preprocessing
    (resize, normalisation) and precision, in eval mode, on the encoder's device (each uint8
    batch is copied there, then preprocessed)."""
    preprocess = build_image_views(cfg.views).preprocess
    device = module_device(encoder)
    amp = inference_autocast(cfg.train.precision, device)
    encoder.eval()
    return extract_features(
        lambda x: encoder(preprocess(x)), images, batch_size=cfg.eval.batch_size,
        device=device, autocast_dtype=amp,
    )  # fmt: skip
