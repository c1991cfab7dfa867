"""Commands on embedding indexes: index, search, dedup, anomalies, cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contrastkit.cli_output import DEVICE_HELP, AsJson, Progress, notice, one_spelling
from contrastkit.cli_output import show_rows as _show
from contrastkit.progress import bars_shown, progress_bars

Opt = typer.Option
DATASET_HELP = "another dataset, folder or file, read like the run's data"
OldData = Annotated[str | None, Opt("--data", hidden=True, help="old name of --dataset")]


def index(
    model: Annotated[str, typer.Argument(help="a run folder, a text model folder or minilm")],
    output: Annotated[Path, Opt("--output", "-o", help="index folder to write")],
    dataset: Annotated[str | None, Opt(help=f"{DATASET_HELP} (default: the run's own)")] = None,
    split: Annotated[str, Opt(help="the run's train or test split")] = "train",
    kind: Annotated[str, Opt(help="flat (exact), ivf or hnsw (approximate, FAISS)")] = "flat",
    device: Annotated[str, Opt(help=DEVICE_HELP)] = "auto",
    progress: Progress = None,
    data: OldData = None,
) -> None:
    """Embed a run's data (or another source read the same way) and save a searchable index
    (with FAISS: its own index file too, which search, dedup and anomalies load)."""
    from contrastkit.pipeline.index_run import build_index

    source = one_spelling("--dataset", dataset, "--data", data)
    with progress_bars(progress):
        built = build_index(
            model, output, source=source, split=split, kind=kind, device=device,
            progress=bars_shown(),
        )  # fmt: skip
    recall = built.info.get("recall@10")
    extra = "" if kind == "flat" else f", recall@10 vs exact {recall:.3f}"
    typer.echo(
        f"indexed {len(built)} {built.modality} items of size {built.dim} ({kind}, "
        f"{built.engine.backend}{extra}) -> {output}"
    )


def search(
    index_dir: Annotated[Path, typer.Argument(help="an index folder from `contrastkit index`")],
    text: Annotated[str | None, Opt(help="query text (text and image-text indexes)")] = None,
    file: Annotated[
        str | None, Opt("--file", "--image", help="query file: an image, a sound clip")
    ] = None,
    item_id: Annotated[str | None, Opt("--id", help="an item already in the index")] = None,
    k: Annotated[int, Opt("-k", help="neighbours to return")] = 10,
    model: Annotated[
        str | None, Opt(help="encoder for the query (default: the one that built the index)")
    ] = None,
    as_json: AsJson = False,
    device: Annotated[str, Opt(help=DEVICE_HELP)] = "auto",
) -> None:
    """The k nearest items to a text, an image or an indexed item."""
    from contrastkit.index.store import EmbeddingIndex
    from contrastkit.pipeline.index_run import query_vectors, search_rows
    from contrastkit.train.devices import resolve_device

    resolve_device(device, key="--device")  # checked even when an --id query needs no encoder
    loaded = EmbeddingIndex.load(index_dir)
    query, own = query_vectors(
        loaded, text=text, file=file, item_id=item_id, model=model, device=device
    )
    _show(search_rows(loaded, query, k, exclude=own), as_json)


def dedup(
    index_dir: Annotated[Path, typer.Argument(help="an index folder")],
    threshold: Annotated[
        float, Opt(help="cosine similarity below which items are never duplicates")
    ] = 0.9,
    ratio: Annotated[
        float,
        Opt(help="duplicates are this many times closer than the k-th neighbour (1: off)"),
    ] = 0.3,
    k: Annotated[int, Opt("-k", help="neighbours searched per item")] = 10,
    output: Annotated[
        Path | None, Opt("--output", "-o", help="write the list (.csv or .json)")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Near-duplicate groups: one item kept per group, the rest listed for removal."""
    from contrastkit.index.store import EmbeddingIndex
    from contrastkit.pipeline.index_run import dedup_rows, write_rows

    loaded = EmbeddingIndex.load(index_dir)
    rows, found = dedup_rows(loaded, threshold, k, ratio)
    if output is not None:
        write_rows(rows, output)
    if output is None or as_json:  # with --json, stdout holds the rows in any case
        _show(rows, as_json)
    notice(
        f"{found.n_groups} groups, {len(found.removed)} of {len(loaded)} items to remove "
        f"(threshold {threshold}, ratio {ratio})"
        + (f"; list written to {output}" if output else ""),
        as_json,
    )


def anomalies(
    index_dir: Annotated[Path, typer.Argument(help="an index folder (the normal items)")],
    k: Annotated[int, Opt("-k", help="nearest neighbours averaged")] = 10,
    dataset: Annotated[
        str | None, Opt(help="score these items against the index instead of its own")
    ] = None,
    split: Annotated[str, Opt(help="split of --dataset (named datasets)")] = "test",
    top: Annotated[int | None, Opt(help="rows to show (default 20; all with --output)")] = None,
    output: Annotated[
        Path | None, Opt("--output", "-o", help="write scores (.csv or .json)")
    ] = None,
    as_json: AsJson = False,
    device: Annotated[str, Opt(help=f"with --dataset, {DEVICE_HELP}")] = "auto",
    progress: Progress = None,
    data: OldData = None,
) -> None:
    """Rank items by their mean cosine distance to the k nearest indexed items."""
    from contrastkit.index.store import EmbeddingIndex
    from contrastkit.pipeline.index_run import anomaly_rows, embed_for_index, write_rows
    from contrastkit.train.devices import resolve_device

    resolve_device(device, key="--device")  # checked even without --dataset
    source = one_spelling("--dataset", dataset, "--data", data)
    loaded = EmbeddingIndex.load(index_dir)
    with progress_bars(progress):
        queries = (
            None if source is None else embed_for_index(loaded, source, split, device, bars_shown())
        )
    rows = anomaly_rows(loaded, k, top if top or output else 20, queries)
    if output is not None:
        write_rows(rows, output)
        notice(f"{len(rows)} scores written to {output} (most anomalous first)", as_json)
    if output is None or as_json:  # with --json, stdout holds the rows in any case
        _show(rows, as_json)


def cluster(
    index_dir: Annotated[Path, typer.Argument(help="an index folder")],
    clusters: Annotated[int, Opt("--k", "-k", help="number of clusters")] = 10,
    seed: Annotated[int, Opt(help="k-means seed")] = 0,
    output: Annotated[
        Path | None, Opt("--output", "-o", help="write each item's cluster (.csv or .json)")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """k-means on the embeddings: cluster sizes and the most typical items of each."""
    from contrastkit.index.store import EmbeddingIndex
    from contrastkit.pipeline.index_run import cluster_rows, write_rows

    loaded = EmbeddingIndex.load(index_dir)
    items, summary, scores = cluster_rows(loaded, clusters, seed)
    _show(summary, as_json)
    if scores is not None:
        notice(f"against the labels: NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}", as_json)
    if output is not None:
        write_rows(items, output)
        notice(f"assignments written to {output}", as_json)


def register(app: typer.Typer) -> None:
    """Add the index commands to the `contrastkit` app."""
    for fn in (index, search, dedup, anomalies, cluster):
        app.command()(fn)
