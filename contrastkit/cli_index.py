"""Commands on embedding indexes: index, search, dedup, anomalies, cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

Opt = typer.Option
DEVICE_HELP = "where the encoder runs: auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps"
PROGRESS_HELP = "progress bars while embedding and indexing (shown on a terminal)"


def show_progress(progress: bool) -> bool:
    """Progress bars are drawn when asked for and stderr is a terminal (not in logs)."""
    import sys

    return progress and sys.stderr.isatty()


def _show(rows: list[dict[str, Any]], as_json: bool, width: int = 70) -> None:
    """Rows as JSON or as an aligned table (long texts cut to `width` characters)."""
    if as_json:
        from contrastkit.files import finite_json

        typer.echo(json.dumps(finite_json(rows), indent=1, allow_nan=False))
        return
    if not rows:
        typer.echo("(no rows)")
        return
    fields = list(dict.fromkeys(key for row in rows for key in row))

    def cell(value: Any) -> str:
        text = str(value).replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[cell(row.get(f, "")) for f in fields] for row in rows]
    widths = [max(len(f), *(len(c[i]) for c in cells)) for i, f in enumerate(fields)]
    typer.echo("  ".join(f.ljust(w) for f, w in zip(fields, widths, strict=True)))
    for c in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


def index(
    model: Annotated[str, typer.Argument(help="a run folder, a text model folder or minilm")],
    output: Annotated[Path, Opt("--output", "-o", help="index folder to write")],
    data: Annotated[
        str | None, Opt(help="another dataset, folder or file (default: the run's own data)")
    ] = None,
    split: Annotated[str, Opt(help="the run's train or test split")] = "train",
    kind: Annotated[str, Opt(help="flat (exact), ivf or hnsw (approximate, FAISS)")] = "flat",
    device: Annotated[str, Opt(help=DEVICE_HELP)] = "auto",
    progress: Annotated[bool, Opt(help=PROGRESS_HELP)] = True,
) -> None:
    """Embed a run's data (or another source read the same way) and save a searchable index
    (with FAISS: its own index file too, which search, dedup and anomalies load)."""
    from contrastkit.pipeline.index_run import build_index

    built = build_index(
        model, output, source=data, split=split, kind=kind, device=device,
        progress=show_progress(progress),
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
    as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False,
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
    ] = 0.5,
    k: Annotated[int, Opt("-k", help="neighbours searched per item")] = 10,
    output: Annotated[
        Path | None, Opt("--output", "-o", help="write the list (.csv or .json)")
    ] = None,
    as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Near-duplicate groups: one item kept per group, the rest listed for removal."""
    from contrastkit.index.store import EmbeddingIndex
    from contrastkit.pipeline.index_run import dedup_rows, write_rows

    loaded = EmbeddingIndex.load(index_dir)
    rows, found = dedup_rows(loaded, threshold, k, ratio)
    if output is not None:
        write_rows(rows, output)
    else:
        _show(rows, as_json)
    typer.echo(
        f"{found.n_groups} groups, {len(found.removed)} of {len(loaded)} items to remove "
        f"(threshold {threshold}, ratio {ratio})"
        + (f"; list written to {output}" if output else ""),
        err=output is None and as_json,
    )


def anomalies(
    index_dir: Annotated[Path, typer.Argument(help="an index folder (the normal items)")],
    k: Annotated[int, Opt("-k", help="nearest neighbours averaged")] = 10,
    data: Annotated[
        str | None, Opt(help="score these items against the index instead of its own")
    ] = None,
    split: Annotated[str, Opt(help="split of --data (named datasets)")] = "test",
    top: Annotated[int | None, Opt(help="rows to show (default 20; all with --output)")] = None,
    output: Annotated[
        Path | None, Opt("--output", "-o", help="write scores (.csv or .json)")
    ] = None,
    as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False,
    device: Annotated[str, Opt(help=f"with --data, {DEVICE_HELP}")] = "auto",
    progress: Annotated[bool, Opt(help=PROGRESS_HELP)] = True,
) -> None:
    """Rank items by their mean cosine distance to the k nearest indexed items."""
    from contrastkit.index.store import EmbeddingIndex
    from contrastkit.pipeline.index_run import anomaly_rows, embed_for_index, write_rows
    from contrastkit.train.devices import resolve_device

    resolve_device(device, key="--device")  # checked even without --data
    loaded = EmbeddingIndex.load(index_dir)
    queries = (
        None
        if data is None
        else embed_for_index(loaded, data, split, device, show_progress(progress))
    )
    rows = anomaly_rows(loaded, k, top if top or output else 20, queries)
    if output is not None:
        write_rows(rows, output)
        typer.echo(f"{len(rows)} scores written to {output} (most anomalous first)")
    else:
        _show(rows, as_json)


def cluster(
    index_dir: Annotated[Path, typer.Argument(help="an index folder")],
    clusters: Annotated[int, Opt("--k", "-k", help="number of clusters")] = 10,
    seed: Annotated[int, Opt(help="k-means seed")] = 0,
    output: Annotated[
        Path | None, Opt("--output", "-o", help="write each item's cluster (.csv or .json)")
    ] = None,
    as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False,
) -> None:
    """k-means on the embeddings: cluster sizes and the most typical items of each."""
    from contrastkit.index.store import EmbeddingIndex
    from contrastkit.pipeline.index_run import cluster_rows, write_rows

    loaded = EmbeddingIndex.load(index_dir)
    items, summary, scores = cluster_rows(loaded, clusters, seed)
    _show(summary, as_json)
    if scores is not None and not as_json:
        typer.echo(f"against the labels: NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}")
    if output is not None:
        write_rows(items, output)
        typer.echo(f"assignments written to {output}")


def register(app: typer.Typer) -> None:
    """Add the index commands to the `contrastkit` app."""
    for fn in (index, search, dedup, anomalies, cluster):
        app.command()(fn)
