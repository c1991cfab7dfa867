"""Turn a validated `Config` into data, views, encoder, method, monitor and trainer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from contrastkit.config import Config, DataConfig
from contrastkit.data.dataset import ImageDataset
from contrastkit.data.registry import has_test_split, load_dataset
from contrastkit.encoders.vision import build_vision_encoder
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.methods import METHODS, Method
from contrastkit.nn.sync_batchnorm import convert_sync_batchnorm
from contrastkit.train.grad_cache import check_grad_cache
from contrastkit.train.monitor import KnnMonitor
from contrastkit.train.trainer import Trainer
from contrastkit.views.pipeline import ImageViews, ViewSettings


@dataclass
class Splits:
    """Training data plus the labelled pieces used by the monitor and the evaluation."""

    train: ImageDataset
    monitor_queries: ImageDataset | None
    test: ImageDataset | None


def load_splits(cfg: DataConfig, seed: int = 0) -> Splits:
    """Load the training set, hold out monitor queries, and the test split if there is one.

    A folder has no test split: when labelled, 20% of it (stratified by a fixed
    permutation) becomes the test split for evaluation.
    """
    kw = dict(data_dir=cfg.data_dir, image_size=cfg.image_size, channels=cfg.channels)
    train = load_dataset(cfg.dataset, "train", **kw)
    test = load_dataset(cfg.dataset, "test", **kw) if has_test_split(cfg.dataset) else None
    g = torch.Generator().manual_seed(seed)
    if test is None and train.labels is not None and len(train) >= 10:
        order = torch.randperm(len(train), generator=g)
        n_test = max(1, len(train) // 5)
        test, train = train.subset(order[:n_test]), train.subset(order[n_test:])
    if cfg.exclude_classes:
        if train.labels is None:
            raise ContrastkitError("data.exclude_classes needs labelled data")
        keep = ~torch.isin(train.labels, torch.tensor(cfg.exclude_classes))
        if not keep.any():
            raise ContrastkitError(f"data.exclude_classes={cfg.exclude_classes} leaves no item")
        train = train.subset(torch.nonzero(keep).squeeze(1))
    queries = None
    if train.labels is not None and cfg.holdout > 0:
        if cfg.holdout >= len(train):
            raise ContrastkitError(
                f"data.holdout={cfg.holdout} must be smaller than the {len(train)} training items"
            )
        order = torch.randperm(len(train), generator=g)
        queries = train.subset(order[: cfg.holdout])
        train = train.subset(order[cfg.holdout :])
    return Splits(train=train, monitor_queries=queries, test=test)


def channel_stats(images: torch.Tensor, max_items: int = 10000) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images (B, C, H, W) scaled to [0, 1]."""
    x = images[:max_items].float().div_(255)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp(min=1e-3)
    return [round(v, 4) for v in mean.tolist()], [round(v, 4) for v in std.tolist()]


def resolve(cfg: Config, train: ImageDataset) -> Config:
    """Fill data-dependent defaults (view size, normalisation) into a copy of `cfg`."""
    cfg = cfg.model_copy(deep=True)
    height, width = train.image_size
    if cfg.data.image_size is None and height == width:
        cfg.data.image_size = int(height)  # other data embedded later is resized to match
    if cfg.views.size is None:
        cfg.views.size = int(height)
    if cfg.views.mean is None or cfg.views.std is None:
        cfg.views.mean, cfg.views.std = channel_stats(train.images)
    if len(cfg.views.mean) != train.channels or len(cfg.views.std) != train.channels:
        raise ContrastkitError(
            f"views.mean/std have {len(cfg.views.mean)}/{len(cfg.views.std)} values, "
            f"the images have {train.channels} channels"
        )
    return cfg


def build_views(cfg: Config) -> ImageViews:
    v = cfg.views
    settings = ViewSettings(
        size=v.size,
        crop_scale=tuple(v.crop_scale),
        crop_ratio=tuple(v.crop_ratio),
        flip_p=v.flip_p,
        jitter_p=v.jitter_p,
        brightness=v.brightness,
        contrast=v.contrast,
        saturation=v.saturation,
        hue=v.hue,
        grayscale_p=v.grayscale_p,
        blur_p=v.blur_p,
        blur_sigma=tuple(v.blur_sigma),
        solarize_p=v.solarize_p,
        mean=tuple(v.mean) if v.mean else None,
        std=tuple(v.std) if v.std else None,
        n_views=v.n_views,
        local_views=v.local_views,
        local_size=v.local_size,
        local_crop_scale=tuple(v.local_crop_scale),
        eval_size=v.eval_size,
    )
    return ImageViews.from_settings(settings)


def build_encoder(cfg: Config, in_channels: int) -> torch.nn.Module:
    m = cfg.model
    return build_vision_encoder(
        m.backbone,
        in_channels,
        small_input=m.small_input,
        widths=m.widths,
        blocks=m.blocks,
        pool_size=m.pool_size,
    )


def build_method(cfg: Config, in_channels: int, gather: bool = False) -> Method:
    """The configured method around a new encoder; heads sized by the model section."""
    encoder = build_encoder(cfg, in_channels)
    method = METHODS[cfg.method.name](
        encoder,
        proj_hidden_dim=cfg.model.proj_hidden_dim,
        proj_dim=cfg.model.proj_dim,
        gather=gather,
        **cfg.method.params,
    )
    if cfg.model.sync_batchnorm:  # plain BatchNorm on one process; global statistics on N
        convert_sync_batchnorm(method)
    return method


def check_method_fits_data(cfg: Config, train: ImageDataset) -> None:
    """Reject, before any work, a method the data or the views cannot feed.

    Raises:
        ConfigError: a supervised method on unlabelled data, too few views, or gradient
            caching for a method whose loss does not allow it.
    """
    cls = METHODS[cfg.method.name]
    if (cls.needs_labels or cfg.method.params.get("use_labels")) and train.labels is None:
        raise ConfigError(
            f"config key 'method.name': {cfg.method.name} uses labels, but the dataset "
            f"{cfg.data.dataset!r} has none (a folder needs one subfolder per class)"
        )
    check_grad_cache(
        cls, cfg.train.grad_cache_chunk, cfg.train.precision, "config key 'train.grad_cache_chunk'"
    )
    views = cfg.views.n_views + cfg.views.local_views
    if views < cls.min_views:
        raise ConfigError(
            f"config key 'views.n_views': {cfg.method.name} needs {cls.min_views} views per "
            f"item, the views section makes {views}"
        )


def build_monitor(cfg: Config, splits: Splits, views: ImageViews) -> KnnMonitor | None:
    if cfg.train.monitor_every == 0 or splits.monitor_queries is None:
        return None
    train = splits.train
    g = torch.Generator().manual_seed(cfg.train.seed + 1)
    bank = torch.randperm(len(train), generator=g)[: cfg.data.monitor_bank]
    q = splits.monitor_queries
    return KnnMonitor(
        train.images[bank],
        train.labels[bank],
        q.images,
        q.labels,
        preprocess=views.preprocess,
        k=cfg.eval.knn_k,
        temperature=cfg.eval.knn_temperature,
        batch_size=cfg.eval.batch_size,
    )


def build_trainer(
    cfg: Config,
    method: Method,
    views: ImageViews,
    monitor: KnnMonitor | None,
    run_dir: Path | None,
    progress: bool = True,
) -> Trainer:
    t, o = cfg.train, cfg.optim
    return Trainer(
        method,
        views,
        optimizer=o.optimizer,
        lr=o.lr,
        weight_decay=o.weight_decay,
        momentum=o.momentum,
        warmup=o.warmup,
        final_lr_ratio=o.final_lr_ratio,
        batch_size=t.batch_size,
        epochs=t.epochs,
        steps=t.steps,
        max_time=t.max_time,
        precision=t.precision,
        channels_last=t.channels_last,
        seed=t.seed,
        run_dir=run_dir,
        checkpoint_every=t.checkpoint_every,
        keep_checkpoints=t.keep_checkpoints,
        monitor=monitor,
        monitor_every=t.monitor_every,
        log_every=t.log_every,
        progress=progress,
        config=cfg.model_dump(mode="json"),
        grad_cache_chunk=t.grad_cache_chunk,
        max_bad_steps=t.max_bad_steps,
        compile=t.compile,
    )
