"""CLIP: an image tower and a text tower, linear projections, symmetric InfoNCE."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses.info_nce import check_temperature, info_nce
from contrastkit.methods.base import Batch, Method, Output, embedding_std, encoder_dim
from contrastkit.nn.distributed import require_distributed

__all__ = ["CLIP", "LockedTower", "text_tokenizer"]


class LockedTower(nn.Module):
    """A frozen encoder (LiT [1]: a locked, pre-trained tower) that remembers its outputs.

    The wrapped encoder stays in eval mode without gradients, so the same input always
    gives the same output; outputs are memoised per input row (for token dicts, the
    non-padding token ids), so a caption is encoded once per run, not once per epoch.
    The memo is not part of the state dict.

    Args:
        encoder: module with `output_dim`, (B, ...) tensors or token dicts -> (B, D).

    [1] Zhai et al., "LiT: Zero-Shot Transfer with Locked-image text Tuning", CVPR 2022.
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder.eval().requires_grad_(False)
        self.output_dim = encoder_dim(encoder)
        self._memo: dict[bytes, Tensor] = {}

    def train(self, mode: bool = True) -> LockedTower:
        super().train(mode)
        self.encoder.eval()  # locked: never dropout, never BatchNorm updates
        return self

    def _keys(self, x: Tensor | Mapping[str, Tensor]) -> list[bytes]:
        if isinstance(x, Mapping):
            ids, mask = x["input_ids"].cpu(), x["attention_mask"].cpu().bool()
            return [row[keep].numpy().tobytes() for row, keep in zip(ids, mask, strict=True)]
        return [row.numpy().tobytes() for row in x.detach().cpu().contiguous()]

    @torch.no_grad()
    def forward(self, x: Tensor | Mapping[str, Tensor]) -> Tensor:
        keys = self._keys(x)
        todo = [i for i, k in enumerate(keys) if k not in self._memo]
        if todo:
            rows = torch.tensor(todo)
            part = {k: v[rows] for k, v in x.items()} if isinstance(x, Mapping) else x[rows]
            for i, out in zip(todo, self.encoder(part).float().cpu(), strict=True):
                self._memo[keys[i]] = out
        device = next(iter(x.values())).device if isinstance(x, Mapping) else x.device
        return torch.stack([self._memo[k] for k in keys]).to(device)


class CLIP(Method):
    """CLIP [1]: contrastive language-image pre-training.

    Both towers encode their view of the batch (views[0]: images (B, C, H, W); views[1]:
    caption token dicts {"input_ids": (B, L), ...}); linear maps without bias project them
    to a shared space; the loss is the mean of the image->text and text->image
    cross-entropies of the cosine similarities times a learnable logit scale. "The learnable
    temperature parameter was initialized to the equivalent of 0.07 ... and clipped to
    prevent scaling the logits by more than 100" ([1], sec. 2.5): the scale is stored as
    its log and clamped to [0, log 100] after each optimiser step.

    `encoder` is the image tower: it is what `embed` returns and what the trainer exports
    as encoder.safetensors. `represent` returns the shared-space embeddings as both the
    representations and the loss inputs, so the trainer's collapse monitor and gradient
    caching compare the two towers' (B, embed_dim) embeddings of the same items.

    Args:
        encoder: image tower with `output_dim`.
        text_encoder: text tower with `output_dim` (a `TextEncoder`, or any module mapping
            the second view to (B, D)).
        embed_dim: size of the shared space.
        temperature: initial temperature (logit scale 1 / temperature).
        learn_temperature: train the log logit scale; False keeps it fixed.
        max_logit_scale: upper clamp of the logit scale.
        lock_text: freeze the text tower (LiT [2]); its outputs are memoised.
        gather: compare against the other processes' embeddings too (torch.distributed).

    Example:
        >>> method = CLIP(CompactCNN(in_channels=3), text_encoder=TextEncoder.from_pretrained(
        ...     minilm_path()), lock_text=True)
        >>> out = method.training_step(Batch(views=[images, tokens]))

    [1] Radford et al., "Learning Transferable Visual Models From Natural Language
        Supervision", ICML 2021.
    [2] Zhai et al., "LiT: Zero-Shot Transfer with Locked-image text Tuning", CVPR 2022.
    """

    name = "clip"
    summary = "image and text towers, linear projections, symmetric InfoNCE, learned temperature"
    towers = 2

    def __init__(
        self,
        encoder: nn.Module,
        *,
        text_encoder: nn.Module,
        embed_dim: int = 128,
        temperature: float = 0.07,
        learn_temperature: bool = True,
        max_logit_scale: float = 100.0,
        lock_text: bool = False,
        gather: bool = False,
    ) -> None:
        super().__init__(encoder)
        check_temperature(temperature)
        if embed_dim < 1:
            raise ValueError(f"embed_dim must be >= 1, got {embed_dim}")
        if not max_logit_scale >= 1.0:
            raise ValueError(f"max_logit_scale must be >= 1, got {max_logit_scale}")
        if 1.0 / temperature > max_logit_scale:
            raise ValueError(
                f"temperature {temperature} gives a logit scale above max_logit_scale "
                f"{max_logit_scale}; use temperature >= {1.0 / max_logit_scale}"
            )
        if gather:
            require_distributed()
        self.text_encoder = LockedTower(text_encoder) if lock_text else text_encoder
        self.image_proj = nn.Linear(encoder_dim(encoder), embed_dim, bias=False)
        self.text_proj = nn.Linear(encoder_dim(text_encoder), embed_dim, bias=False)
        log_scale = torch.tensor(math.log(1.0 / temperature))
        if learn_temperature:
            self.logit_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("logit_scale", log_scale)
        self.max_log_scale = math.log(max_logit_scale)
        self.embed_dim, self.gather, self.lock_text = embed_dim, gather, lock_text

    @property
    def temperature(self) -> Tensor:
        """The current temperature exp(-logit_scale), a scalar tensor (with gradient)."""
        return torch.exp(-self.logit_scale)

    def encode_image(self, images: Tensor) -> Tensor:
        """(B, C, H, W) float images -> (B, embed_dim) projections (not normalised)."""
        return self.image_proj(self.encoder(images))

    def encode_text(self, tokens: Any) -> Tensor:
        """Token dict of (B, L) tensors -> (B, embed_dim) projections (not normalised)."""
        return self.text_proj(self.text_encoder(tokens))

    def represent(self, views: Sequence[Any]) -> tuple[list[Tensor], list[Tensor]]:
        z = [self.encode_image(views[0]), self.encode_text(views[1])]
        return z, z

    def objective(self, z: list[Tensor], batch: Batch) -> Tensor:
        return info_nce(
            z[0], z[1], temperature=self.temperature, symmetric=True, gather=self.gather
        )

    def training_step(self, batch: Batch) -> Output:
        self.check_batch(batch)
        _, z = self.represent(batch.views)
        loss = self.objective(z, batch)
        metrics = {
            "loss": float(loss.detach()),
            "temperature": float(self.temperature.detach()),
            "z_std": embedding_std(z[0]),
            "text_std": embedding_std(z[1]),
        }
        return Output(loss, metrics, embeddings=(z[0], z[1]))

    @torch.no_grad()
    def on_step_end(self, progress: float) -> None:
        self.logit_scale.clamp_(0.0, self.max_log_scale)

    @torch.no_grad()
    def embed_image(self, images: Tensor) -> Tensor:
        """(B, C, H, W) float images -> (B, embed_dim) L2-normalised shared-space embeddings."""
        return F.normalize(self.encode_image(images).float(), dim=1)

    @torch.no_grad()
    def embed_text(self, tokens: Any) -> Tensor:
        """Token dict -> (B, embed_dim) L2-normalised shared-space embeddings."""
        return F.normalize(self.encode_text(tokens).float(), dim=1)


def text_tokenizer(method: CLIP):
    """The tokenizer of a CLIP model's text tower (through a `LockedTower` if locked)."""
    tower = method.text_encoder
    return (tower.encoder if isinstance(tower, LockedTower) else tower).tokenize
