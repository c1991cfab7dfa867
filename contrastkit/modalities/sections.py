"""The config sections of every modality: the keys each adds to the common `data`, `model`
and `views` sections (`contrastkit.config`). An adapter names its three classes; a key of
another modality's class is reported as not applying to the chosen one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from contrastkit.config import DataConfig, ModelConfig, ViewsConfig
from contrastkit.data.splits import compile_group
from contrastkit.encoders.backbones import check_backbone
from contrastkit.errors import ContrastkitError

__all__ = [
    "AudioDataConfig",
    "AudioModelConfig",
    "AudioViewsConfig",
    "GraphDataConfig",
    "GraphModelConfig",
    "GraphViewsConfig",
    "ImageDataConfig",
    "ImageModelConfig",
    "ImageTextDataConfig",
    "ImageTextModelConfig",
    "ImageViewsConfig",
    "InteractionsDataConfig",
    "InteractionsModelConfig",
    "TableDataConfig",
    "TableModelConfig",
    "TableViewsConfig",
    "TextDataConfig",
    "TextModelConfig",
    "TextViewsConfig",
]


# ---- images (also the image side of image-text) ----------------------------------------
class ImageDataConfig(DataConfig):
    data_dir: str | None = Field(None, description="where a named dataset's files are")
    image_size: int | None = Field(None, ge=4, le=1024, description="resize images to this")
    channels: Literal[1, 3] | None = None
    holdout: int | None = Field(
        None, ge=0, description="labelled training items held out as kNN-monitor queries; "
        "None: 10% of them, at most 1,000, none below 500 training items"
    )  # fmt: skip
    monitor_bank: int = Field(10000, ge=0, description="labelled items in the kNN-monitor bank")
    group: str | None = Field(
        None, description="regular expression on image paths whose first capture group names "
        "each image's group (e.g. its font, its object); the test and monitor hold-outs and "
        "tune-views' validation split then take whole groups"
    )  # fmt: skip
    exclude_classes: list[int] = Field(
        default_factory=list,
        description="labels left out of training (e.g. to train on 'normal' classes only)",
    )
    max_memory: str = Field(
        "4GB", description="an image folder whose decoded images exceed this (e.g. 4GB, "
        "512MiB; 0: always) is streamed from disk instead of decoded into memory"
    )  # fmt: skip
    workers: int | None = Field(
        None, ge=0, le=64, description="streaming: decoding processes (default: half the "
        "cores, 1 to 4; 0: in the training process)"
    )  # fmt: skip
    m_per_class: int | None = Field(
        None, ge=1, description="class-balanced batches for metric learning: m labelled items "
        "of each of train.batch_size / m classes; None: shuffled batches"
    )  # fmt: skip

    @field_validator("group")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                compile_group(v)
            except ContrastkitError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("max_memory", mode="before")
    @classmethod
    def _size(cls, v: object) -> str:
        from contrastkit.data.folder_stream import parse_bytes

        parse_bytes(v)  # raises with the accepted spellings
        return str(v)


class ImageModelConfig(ModelConfig):
    backbone: str = Field(
        "compact_cnn", description="compact_cnn, resnet18/34/50, torchvision:NAME, timm:NAME, "
        "or a local Hugging Face model folder"
    )  # fmt: skip
    weights: str | None = Field(
        None, description="a local state dict (.pth/.pt/.safetensors) to start the backbone from"
    )
    input_size: int | None = Field(
        None, ge=4, le=1024, description="torchvision/timm ViTs: input side; None: the model's"
    )
    patch_size: int | None = Field(
        None, ge=1, le=64, description="timm ViTs: patch side; None: the model's"
    )
    backbone_args: dict[str, Any] = Field(
        default_factory=dict,
        description="torchvision/timm: more arguments of get_model / create_model",
    )
    small_input: bool = Field(True, description="resnet18/34/50: 3x3 stem without max-pool")
    widths: list[int] = Field(default_factory=lambda: [32, 64, 128, 256], min_length=1)
    blocks: int | list[int] = 1
    pool_size: int = Field(1, ge=1, le=8, description="compact_cnn: final avg-pool grid side")

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, v: str) -> str:
        return check_backbone(v)

    @field_validator("weights")
    @classmethod
    def _weights_file(cls, v: str | None) -> str | None:
        if v is None:
            return v
        path = Path(v).expanduser().resolve()
        if not path.is_file():
            raise ValueError("no such file" if str(path) == v else f"no such file {path}")
        return str(path)

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, v: list[int]) -> list[int]:
        if min(v) < 1:
            raise ValueError(f"every width must be >= 1, got {v}")
        return v


class ImageViewsConfig(ViewsConfig):
    size: int | None = Field(None, ge=4, le=1024, description="view size (default: image size)")
    eval_size: int | None = Field(
        None, ge=4, le=1024, description="resize for embedding (default: keep the image size)"
    )
    local_views: int = Field(0, ge=0, le=16, description="extra small multi-crop views")
    local_size: int = Field(12, ge=4, le=1024)
    local_crop_scale: tuple[float, float] = (0.05, 0.4)
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (0.75, 4 / 3)
    flip_p: float = Field(0.5, ge=0, le=1)
    jitter_p: float = Field(0.8, ge=0, le=1)
    brightness: float = Field(0.4, ge=0)
    contrast: float = Field(0.4, ge=0)
    saturation: float = Field(0.4, ge=0)
    hue: float = Field(0.1, ge=0, le=0.5)
    grayscale_p: float = Field(0.2, ge=0, le=1)
    blur_p: float = Field(0.5, ge=0, le=1)
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = Field(0.0, ge=0, le=1)
    stroke_p: float = Field(
        0.0, ge=0, le=1, description="thicken or thin strokes by 1 px (glyph-like images)"
    )
    mean: list[float] | None = Field(None, description="per-channel mean; None: from the data")
    std: list[float] | None = Field(None, description="per-channel std; None: from the data")

    @field_validator("crop_scale", "local_crop_scale")
    @classmethod
    def _scale(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1] <= 1:
            raise ValueError(f"must be (min, max) with 0 < min <= max <= 1, got {list(v)}")
        return v

    @field_validator("crop_ratio", "blur_sigma")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1]:
            raise ValueError(f"must be (min, max) with 0 < min <= max, got {list(v)}")
        return v


# ---- the other modalities ------------------------------------------------------------
class TextDataConfig(DataConfig):
    columns: dict[str, str] | None = Field(
        None, description="roles (anchor, positive, negative, label) -> the file's columns"
    )
    max_items: int | None = Field(None, ge=2, description="read at most this many rows")


class TextModelConfig(ModelConfig):
    name: str = Field("minilm", description="minilm, scratch, or a local model folder")
    max_length: int = Field(128, ge=2, le=4096, description="tokens kept per text")
    vocab_size: int = Field(8000, ge=100, description="scratch: WordPiece vocabulary")
    dim: int = Field(256, ge=8, description="scratch: hidden size")
    layers: int = Field(4, ge=1, description="scratch: transformer layers")
    heads: int = Field(4, ge=1, description="scratch: attention heads")
    rotation: Literal["none", "pca"] = Field(
        "none",
        description="pca: rotate the pretrained embedding onto its principal axes (fit on "
        "training texts) so the first features carry the most variance; for Matryoshka",
    )

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> TextModelConfig:
        if self.dim % self.heads:
            raise ValueError(f"model.dim {self.dim} must be a multiple of model.heads {self.heads}")
        if self.rotation == "pca" and self.name == "scratch":
            raise ValueError(
                "model.rotation 'pca' orders a pretrained model's features; a scratch "
                "encoder's random features have no order to find: use model.name minilm or a "
                "model folder, or model.rotation none"
            )
        return self


class TextViewsConfig(ViewsConfig):
    pairs: bool = Field(True, description="train on the file's pairs; False: every text alone")
    delete_p: float = Field(0.0, ge=0, lt=1, description="word deletion probability")
    synonym_p: float = Field(0.0, ge=0, lt=1, description="WordNet synonym probability")


class AudioDataConfig(DataConfig):
    sample_rate: int = Field(16000, ge=1000, le=192000, description="clips are resampled to it")
    clip_seconds: float = Field(1.0, gt=0, le=60, description="clips are padded or cropped")


class AudioModelConfig(ModelConfig):
    widths: list[int] = Field(default_factory=lambda: [16, 32, 64, 128], min_length=1)
    n_mels: int = Field(40, ge=8, le=256)
    hop: int = Field(320, ge=16, description="samples between spectrogram frames")


class AudioViewsConfig(ViewsConfig):
    crop_min_scale: float = Field(0.6, gt=0, le=1)
    semitones: float = Field(2.0, ge=0, description="speed change range (0: off)")
    mix_weight: float = Field(0.3, ge=0, lt=0.5, description="mixing with another clip")
    time_masks: int = Field(2, ge=0)
    freq_masks: int = Field(2, ge=0)


class GraphDataConfig(DataConfig):
    edges: str | None = Field(None, description="edge CSV (source,target) beside a node CSV")
    id_column: str = "id"
    label_column: str | None = "label"
    text_column: str | None = Field(None, description="a node text column to featurise")
    link_fraction: float = Field(0.05, gt=0, lt=0.5, description="edges held out for link AUC")


class GraphModelConfig(ModelConfig):
    hidden_dim: int = Field(256, ge=1)
    layers: int = Field(2, ge=1)
    conv: Literal["gcn", "gin"] = "gcn"


class GraphViewsConfig(ViewsConfig):
    size: int = Field(16, ge=2, le=256, description="nodes per ego subgraph")
    drop_edge: float = Field(0.3, ge=0, lt=1)
    mask_feature: float = Field(0.4, ge=0, lt=1)
    drop_node: float = Field(0.1, ge=0, lt=1)
    neighbour_positive: float = Field(1.0, ge=0, le=1, description="views centred on a neighbour")


class TableDataConfig(DataConfig):
    label: str | None = Field(None, description="the label column (named tables have one)")
    numeric: list[str] | None = Field(None, description="columns read as numbers")
    categorical: list[str] | None = Field(None, description="columns read as categories")
    drop: list[str] = Field(default_factory=list, description="columns to ignore")


class TableModelConfig(ModelConfig):
    hidden_dim: int = Field(256, ge=1)
    num_layers: int = Field(4, ge=1)
    output_dim: int = Field(256, ge=1, description="representation size")
    norm: Literal["batchnorm", "layernorm", "none"] = "batchnorm"


class TableViewsConfig(ViewsConfig):
    corruption_rate: float = Field(0.6, ge=0, le=1, description="SCARF: share of features swapped")
    anchor: bool = Field(True, description="the first view is the uncorrupted row (SCARF)")


class ImageTextDataConfig(DataConfig):
    image_size: int = Field(32, ge=8, le=1024)
    caption: Literal["name", "name+subgroup"] = Field("name+subgroup", description="emoji")


class ImageTextModelConfig(ImageModelConfig):
    text_model: Literal["minilm", "scratch"] = "minilm"
    text_dim: int = Field(128, ge=8, description="scratch text tower: width")
    text_layers: int = Field(2, ge=1, description="scratch text tower: layers")

    @field_validator("text_dim")
    @classmethod
    def _heads_of_32(cls, v: int) -> int:
        if (v % 32 and v > 32) or (32 % v and v < 32):
            raise ValueError(
                f"must be a multiple of 32 (a head per 32 dimensions) or divide 32, got {v}"
            )
        return v


class InteractionsDataConfig(DataConfig):
    columns: dict[str, str] | None = Field(None, description="user, item, time -> column names")


class InteractionsModelConfig(ModelConfig):
    dim: int = Field(64, ge=1, description="tower output size")
    hidden: int = Field(128, ge=1, description="tower MLP width")
    popularity_weight: float = Field(1.5, description="weight of log popularity when ranking")
