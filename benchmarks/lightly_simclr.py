"""The same SimCLR recipe run through LightlySSL (benchmark-only dependency `lightly`).

LightlySSL's standard usage: its SimCLRTransform on PIL images inside a torch DataLoader,
its SimCLRProjectionHead and NTXentLoss, each view encoded separately, with the same
backbone, batch size, optimiser, schedule (warmup + cosine over the time budget),
precision, memory format (`train.channels_last`) and augmentation settings as the
contrastkit recipe.
"""

from __future__ import annotations

import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from contrastkit.config import Config
from contrastkit.modalities.image import ImageData, ImageModality
from contrastkit.pipeline.bench import step_flops
from contrastkit.train.optim import build_optimizer, set_lr, warmup_cosine
from contrastkit.train.precision import autocast_dtype


class PILViews(Dataset):
    """uint8 (N, C, H, W) images served as PIL images through a per-image transform."""

    def __init__(self, images: torch.Tensor, transform) -> None:
        self.images, self.transform = images, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        a = self.images[i].numpy()
        img = Image.fromarray(a[0]) if a.shape[0] == 1 else Image.fromarray(a.transpose(1, 2, 0))
        return self.transform(img)


def lightly_transform(cfg: Config):
    from lightly.transforms import SimCLRTransform

    v = cfg.views
    return SimCLRTransform(
        input_size=v.size,
        cj_prob=v.jitter_p,
        cj_strength=1.0,
        cj_bright=v.brightness,
        cj_contrast=v.contrast,
        cj_sat=v.saturation,
        cj_hue=v.hue,
        min_scale=v.crop_scale[0],
        random_gray_scale=v.grayscale_p,
        gaussian_blur=v.blur_p,
        sigmas=tuple(v.blur_sigma),
        hf_prob=v.flip_p,
        normalize={"mean": list(v.mean), "std": list(v.std)},
    )


def train_lightly(cfg: Config, data: ImageData, budget: float, workers: int) -> dict:
    """Train on `data.train` (prepared by `ImageModality`; `cfg` resolved on it) for `budget`
    seconds of wall-clock (data loading included); return the backbone and throughput
    numbers, with the FLOPs of one step (counted on one batch before the clock starts)."""
    from lightly.loss import NTXentLoss
    from lightly.models.modules import SimCLRProjectionHead

    images = data.train.images
    torch.manual_seed(cfg.train.seed)
    backbone = ImageModality().build_encoder(cfg, data)
    head = SimCLRProjectionHead(backbone.output_dim, cfg.model.proj_hidden_dim, cfg.model.proj_dim)
    model = torch.nn.ModuleDict({"backbone": backbone, "head": head})
    criterion = NTXentLoss(temperature=cfg.method.temperature)
    o = cfg.optim
    optimizer = build_optimizer(model, o.optimizer, o.lr, o.weight_decay, o.momentum)
    amp = autocast_dtype(cfg.train.precision, torch.device("cpu"))
    fmt = torch.channels_last if cfg.train.channels_last else torch.contiguous_format
    model.to(memory_format=fmt)

    def step(views: list[torch.Tensor]) -> torch.Tensor:
        x0, x1 = (v.contiguous(memory_format=fmt) for v in views[:2])
        with torch.autocast("cpu", dtype=amp, enabled=amp is not None):
            return criterion(head(backbone(x0)), head(backbone(x1)))

    dataset = PILViews(images, lightly_transform(cfg))
    sample = [dataset[i] for i in range(cfg.train.batch_size)]
    model.train()
    batch = [torch.stack([s[k] for s in sample]) for k in range(2)]
    flops = step_flops(lambda: step(batch))
    optimizer.zero_grad(set_to_none=True)
    loader = DataLoader(
        dataset,
        batch_size=cfg.train.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    model.train()
    steps, start = 0, time.perf_counter()
    done = False
    while not done:
        for views in loader:
            elapsed = time.perf_counter() - start
            if elapsed >= budget:
                done = True
                break
            set_lr(optimizer, o.lr, warmup_cosine(elapsed / budget, o.warmup, o.final_lr_ratio))
            loss = step(views)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
    seconds = time.perf_counter() - start
    pairs = steps * cfg.train.batch_size
    return {
        "backbone": backbone,
        "steps": steps,
        "epochs": pairs / len(images),
        "seconds": seconds,
        "pairs_per_s": pairs / seconds,
        "final_loss": float(loss.detach()),
        "gflop_per_step": flops / 1e9,
    }
