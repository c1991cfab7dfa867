"""What a modality is to the run path: one adapter class, written once per kind of data.

An adapter says how to read its data (with the library's readers and their bad-row
reports), how to make views, which encoder to build by default, what the raw-input
baseline is, and which evaluations its data allows. `contrastkit train`, `evaluate`,
`embed`, `index`, `report` and the rest (`contrastkit.pipeline`) are written once on this
interface; adding a modality means writing one subclass of `Modality` and registering it
in `contrastkit.modalities.registry`.

The run path calls, in order: `prepare` (read and split the data, reading back artifacts
such as a text run's starting encoder when the run folder has them), `write_artifacts`
(when training), `resolve` (fill data-dependent config values), then
`build_encoder`, `method_kwargs`, `batches` and `monitor` for training, `export` at the
end; `load_trained`, `baselines`, `score` for evaluation; `items`, `read_source`, `embed`
and `read_query` for embeddings, indexes and reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from contrastkit.config import Config, DataConfig, ModelConfig, ViewsConfig
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.methods.params import construct, method_params
from contrastkit.methods.registry import METHODS
from contrastkit.modalities.scoring import classification_scores, few_label_rows
from contrastkit.train.checkpoint import load_weights

__all__ = [
    "ENCODER_FILE",
    "DefaultChoice",
    "ItemSet",
    "Modality",
    "Prepared",
    "classification_scores",
    "few_label_rows",
    "method_defaults",
    "trained_weights",
]

ENCODER_FILE = "encoder.safetensors"


@dataclass
class Prepared:
    """A modality's data, read and split for one run.

    Attributes:
        description: one line for logs and summary.json ("60,000 train / 10,000 test").
        labels: (N,) int64 labels of the training items, or None (supervised methods and
            the kNN monitor need them).
        skipped: (file or line, reason) of every item that could not be read.
    """

    description: str
    labels: Tensor | None
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DefaultChoice:
    """Config values chosen from what was seen in the data, with the reason.

    Attributes:
        values: dotted config key -> value ({"views.flip_p": 0.0}).
        reason: one line saying why, for the user ("grayscale images up to 64 px ...").
    """

    values: dict[str, Any]
    reason: str

    def line(self) -> str:
        """ "key=value key=value: reason", one line for the terminal."""
        shown = " ".join(f"{key}={_short(value)}" for key, value in self.values.items())
        return f"{shown}: {self.reason}"


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ",".join(_short(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class ItemSet:
    """Items of one split as `Modality.embed` takes them, with what describes them.

    Attributes:
        items: a tensor (N, ...) or a list of N strings (the adapter's choice).
        ids: N stable item ids.
        labels: (N,) int class codes, or None.
        classes: class names indexed by label, or None.
        texts: a readable text per item (texts, captions, titles, names), or None.
        name: what the items are, for captions ("fashion-mnist test").
    """

    items: Any
    ids: list[str]
    labels: np.ndarray | None = None
    classes: list[str] | None = None
    texts: list[str] | None = None
    name: str = ""

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, positions: np.ndarray | list[int]) -> ItemSet:
        """The items at `positions`, in that order."""
        pos = [int(p) for p in positions]
        items = (
            self.items[torch.as_tensor(pos, dtype=torch.long)]
            if isinstance(self.items, Tensor)
            else [self.items[p] for p in pos]
        )
        return replace(
            self,
            items=items,
            ids=[self.ids[p] for p in pos],
            labels=None if self.labels is None else self.labels[pos],
            texts=None if self.texts is None else [self.texts[p] for p in pos],
        )

    def part(self, start: int, stop: int) -> ItemSet:
        """Items `start` to `stop` (a slice: tensors, lists and images on disk alike)."""
        return replace(
            self,
            items=self.items[start:stop],
            ids=self.ids[start:stop],
            labels=None if self.labels is None else self.labels[start:stop],
            texts=None if self.texts is None else self.texts[start:stop],
        )


class Modality:
    """Base class of modality adapters (see the module docstring for the call order).

    Class attributes:
        name: the value of `data.modality`.
        summary: one line for `contrastkit datasets`.
        datasets: named datasets this modality reads, name -> one-line description.
        aliases: other names of those datasets, alias -> name.
        data_config, model_config, views_config: its config sections (subclasses of the
            common bases, adding the modality's keys).
        towers: encoders the methods it trains must have: 1 (SimCLR and the rest), or 2
            (two-tower methods such as CLIP).
        defaults: config values of this modality that differ from the common defaults
            (optimiser, batch size, precision, ...), as a nested dict.
        main_metric: the eval metric benchmarks compare first.
        has_few_labels: `few_label_rows` is implemented (`eval.few_labels`).
        has_transfer: `labelled_source` is implemented (`contrastkit finetune`).
        embed_chunk: items `embed` may take per call when a progress bar is shown (each
            item's embedding depends on that item alone); None: all at once, no bar.
        data_free: `preprocessing` and `without_data` are implemented: a trained model
            loads without its training data.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    datasets: ClassVar[dict[str, str]] = {}
    aliases: ClassVar[dict[str, str]] = {}
    data_config: ClassVar[type[DataConfig]] = DataConfig
    model_config: ClassVar[type[ModelConfig]] = ModelConfig
    views_config: ClassVar[type[ViewsConfig]] = ViewsConfig
    towers: ClassVar[int] = 1
    defaults: ClassVar[dict[str, Any]] = {}
    main_metric: ClassVar[str] = ""
    has_few_labels: ClassVar[bool] = False
    has_transfer: ClassVar[bool] = False
    embed_chunk: ClassVar[int | None] = None
    data_free: ClassVar[bool] = False

    # ---- choosing and configuring -------------------------------------------------------
    def trains(self, method: type) -> bool:
        """Whether method class `method` trains on this modality (its towers, and its
        `modalities` where it names them)."""
        named = getattr(method, "modalities", None)
        return method.towers == self.towers and (named is None or self.name in named)

    def detect(self, path: Path) -> bool:
        """Whether `path` (an existing file or folder) holds this modality's data."""
        return False

    def recipe_defaults(self, tree: dict[str, Any]) -> dict[str, Any]:
        """Defaults under a user's config `tree` (default: `defaults`); override when they
        depend on what the user chose (e.g. the learning rate of a pretrained model)."""
        return self.defaults

    def data_defaults(self, cfg: Config, given: set[str]) -> list[DefaultChoice]:
        """Config values chosen from a look at `cfg`'s data for a run without a recipe; keys
        in `given` (dotted, set by the user; a section name covers its keys) are left to
        the user. Default: none (the modality's fixed defaults apply)."""
        return []

    def view_count(self, cfg: Config) -> int:
        """Views per item that the batches hold."""
        return cfg.views.n_views

    def check(self, cfg: Config) -> None:
        """Reject, before any data is read, settings this modality cannot honour (raise
        `ConfigError` naming the key). Subclasses add their own checks to these."""
        if cfg.eval.few_labels and not self.has_few_labels:
            raise ConfigError(
                f"config key 'eval.few_labels': {self.name} runs have no few-label evaluation "
                "(image, audio, graph and table runs do)"
            )

    def check_test_size(self, cfg: Config, *, count: bool, fixed: str | None = None) -> None:
        """Reject a `data.test_size` the data cannot take: a count (>= 1) where only a share
        works (`count` False), or any value where the test split is `fixed` (why)."""
        size = cfg.data.test_size
        if size is not None and fixed is not None:
            raise ConfigError(f"config key 'data.test_size' does not apply: {fixed}")
        if size is not None and size >= 1 and not count:
            raise ConfigError(
                f"config key 'data.test_size': {self.name} data takes a share below 1, got {size}"
            )

    # ---- training ------------------------------------------------------------------------
    def prepare(self, cfg: Config, run_dir: Path | None) -> Prepared:
        """Read and split the data; write artifacts to `run_dir` (or read them back)."""
        raise NotImplementedError

    def write_artifacts(self, cfg: Config, data: Prepared, run_dir: Path) -> None:
        """Save what a resumed or evaluated run must read back exactly (once, on rank 0,
        after the data is checked); `prepare` reads it when it exists. Default: nothing."""

    def resolve(self, cfg: Config, data: Prepared) -> Config:
        """A copy of `cfg` with data-dependent values filled in (default: unchanged)."""
        return cfg

    def build_encoder(self, cfg: Config, data: Prepared) -> nn.Module:
        """A freshly initialised encoder with an `output_dim` (seed set by the caller)."""
        raise NotImplementedError

    def method_kwargs(self, cfg: Config, data: Prepared) -> dict[str, Any]:
        """Extra constructor arguments of the method (e.g. a two-tower method's second
        tower); default none."""
        return {}

    def new_method(self, cfg: Config, data: Prepared, *, gather: bool = False) -> nn.Module:
        """The configured method around a new encoder (and second tower), seeded by the
        caller; heads sized by the model section."""
        m = cfg.model
        labels = getattr(data, "labels", None)  # proxy-based methods: one proxy per class
        classes = {"num_classes": int(labels.max()) + 1} if labels is not None else {}
        return construct(
            cfg.method.name, self.build_encoder(cfg, data), cfg.method.params,
            proj_hidden_dim=m.proj_hidden_dim, proj_dim=m.proj_dim, gather=gather,
            **classes, **self.method_kwargs(cfg, data),
        )  # fmt: skip

    def batches(self, cfg: Config, data: Prepared, method: nn.Module, device: torch.device):
        """The `BatchSource` the trainer draws from."""
        raise NotImplementedError

    def monitor(self, cfg: Config, data: Prepared, method: nn.Module):
        """An online kNN monitor, or None (default)."""
        return None

    def export(self, method: nn.Module, cfg: Config, data: Prepared, run_dir: Path) -> None:
        """Write extra exports besides encoder.safetensors and method.safetensors."""

    def preprocessing(self, cfg: Config, data: Prepared) -> dict[str, Any] | None:
        """What `load_trained`, `as_items` and `embed` need of the data, as JSON values
        (RUN_DIR/preprocess.json; files it names sit beside it), so a model loads without
        its training data; None (default): they need the training data itself."""
        return None

    def without_data(
        self, cfg: Config, record: dict[str, Any], folder: Path
    ) -> tuple[Config, Prepared]:
        """(config, data) to load and embed with, from a `preprocessing` record read back
        from `folder`, the training data not read (KeyError: a key is missing)."""
        raise NotImplementedError

    # ---- evaluation ----------------------------------------------------------------------
    def load_trained(self, cfg: Config, data: Prepared, run_dir: Path) -> Any:
        """The trained model that `score`, `embed` and `read_query` take (default: the
        encoder with the run's final weights)."""
        return load_weights(self.build_encoder(cfg, data), trained_weights(run_dir)).eval()

    def nested_modules(self, model: Any) -> list[torch.nn.Module]:
        """The modules whose outputs are the embeddings a Matryoshka run is evaluated on,
        cut to their first m features: the encoder (one tower), or the two projections
        into the shared space (two towers: CLIP, SigLIP)."""
        if self.towers == 2:
            return [model.image_proj, model.text_proj]
        return [model]

    def baselines(self, cfg: Config, data: Prepared) -> list[tuple[str, Any]]:
        """(name, model) pairs scored beside the trained one: raw input, random init."""
        raise NotImplementedError

    def score(self, model: Any, cfg: Config, data: Prepared) -> dict[str, float]:
        """{metric: value} of one model on the evaluation its data allows."""
        raise NotImplementedError

    def few_label_rows(self, trained: Any, cfg: Config, data: Prepared) -> list[dict[str, Any]]:
        """Rows of the few-label evaluation (`eval.few_labels`), where the data allows it."""
        raise ContrastkitError(
            f"config key 'eval.few_labels': {self.name} runs have no few-label evaluation"
        )

    def embed_input(self, cfg: Config, data: Prepared) -> Callable[[Tensor], Tensor] | None:
        """Turns stored tensor items into the encoder's input when embedding or fine-tuning
        (e.g. uint8 pixels to normalised floats); default: as they are."""
        return None

    def labelled_source(
        self, cfg: Config, data: Prepared, source: str
    ) -> tuple[ItemSet, ItemSet | None]:
        """Labelled tensor items of another dataset, read as the run reads its own, for
        fine-tuning (`contrastkit finetune`, where `has_transfer`): (the training items, the
        source's own test split or None)."""
        raise NotImplementedError

    # ---- embeddings ----------------------------------------------------------------------
    def items(self, cfg: Config, data: Prepared, split: str) -> ItemSet:
        """The run's own items of `split` ("train" or "test")."""
        raise NotImplementedError

    def read_source(self, cfg: Config, data: Prepared, source: str, split: str) -> ItemSet:
        """Items of another dataset or file, read as the run reads its own."""
        raise ContrastkitError(f"{self.name} runs embed their own data only; drop --data")

    def embed(self, model: Any, items: ItemSet, cfg: Config, data: Prepared) -> np.ndarray:
        """(N, D) float32 embeddings of `items`."""
        raise NotImplementedError

    def read_query(self, model: Any, cfg: Config, data: Prepared, query: str, kind: str) -> ItemSet:
        """One query as items: `kind` is "text" or "file" (a path)."""
        raise ContrastkitError(f"a {self.name} index is queried by --id only")

    def as_items(self, cfg: Config, data: Prepared, inputs: Any, kind: str | None) -> ItemSet:
        """Inputs given in Python (`contrastkit.load(...).encode`) as the items `embed`
        takes, read the way the run reads its own; `kind` picks a tower of a two-tower
        model ("image"/"text", "item"/"user"), None the default one."""
        raise ContrastkitError(f"{self.name} models do not encode inputs given in Python")


def trained_weights(run_dir: Path) -> Path:
    """RUN_DIR/encoder.safetensors.

    Raises:
        ContrastkitError: it does not exist (the run has not finished).
    """
    path = Path(run_dir) / ENCODER_FILE
    if not path.is_file():
        raise ContrastkitError(
            f"{path} does not exist: the run has not finished; resume it with "
            f"`contrastkit train --resume {run_dir}`"
        )
    return path


def method_defaults(tree: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Those of `values` that the config tree's method (default simclr) takes as arguments:
    a modality's defaults for the `method` section (a temperature, say)."""
    name = (tree.get("method") or {}).get("name", "simclr")
    params = method_params(name) if name in METHODS else {}
    return {key: value for key, value in values.items() if key in params}
