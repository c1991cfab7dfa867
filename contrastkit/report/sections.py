"""The report's sections, each built from a parsed run folder; one function per section.

Every function returns a `Section`; when its data is missing (no kNN rows, no encoder,
no evaluation) the section says why in a sentence instead of failing. Figures are passed
to `save(name, png)`, which keeps a copy in the run's report/ folder.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from contrastkit.report.embeddings import cosine_top_k
from contrastkit.report.html import Section, image, paragraph, table
from contrastkit.report.material import Material
from contrastkit.report.plots import Panel, embedding_map_png, neighbour_grid_png, panels_png
from contrastkit.report.run_data import RunData

Save = Callable[[str, bytes], None]

SECTION_IDS = (
    "overview",
    "loss-lr",
    "knn",
    "collapse",
    "embedding-map",
    "neighbours",
    "evaluation",
)


def _figure(save: Save, name: str, png: bytes, alt: str) -> str:
    save(name, png)
    return image(png, alt)


def overview(run: RunData) -> Section:
    """The run's facts: method, data, model, budget and how training went."""
    s = run.summary
    facts: list[tuple[str, object]] = [
        ("run folder", run.path.resolve()),
        ("modality", run.kind),
        ("method", run.method),
        ("data", run.dataset),
    ]
    c = run.config
    model = getattr(c.model, "backbone", None) or getattr(c.model, "name", None)
    facts += [
        ("model", model or type(c.model).__name__),
        ("batch size", c.train.batch_size),
        ("optimiser", f"{c.optim.optimizer}, peak lr {c.optim.lr:g}"),
    ]
    for key, label, fmt in (
        ("steps", "steps", "{:,.0f}"),
        ("epochs", "epochs", "{:.2f}"),
        ("train_seconds", "training time (s)", "{:,.0f}"),
        ("items_per_second", "throughput (items/s)", "{:,.0f}"),
        ("final_loss", "final loss", "{:.4f}"),
        ("knn_accuracy", "last kNN-monitor top-1", "{:.3f}"),
    ):
        if isinstance(s.get(key), int | float):
            facts.append((label, fmt.format(s[key])))
    if s.get("collapsed_at_step") is not None:
        facts.append(("collapse detected at step", s["collapsed_at_step"]))
    section = Section("overview", "Overview")
    section.add(table(["", "value"], [(k, v) for k, v in facts]))
    if not s:
        section.missing = "There is no summary.json: the run has not finished (or was stopped)."
    return section


def loss_and_lr(run: RunData, save: Save) -> Section:
    """Training loss and learning rate over steps (and throughput when logged)."""
    section = Section("loss-lr", "Loss and learning rate")
    panels = []
    if loss := run.series("loss"):
        panels.append(Panel("training loss", {"loss": loss}, ylabel="loss"))
    if lr := run.series("lr"):
        panels.append(Panel("learning rate", {"lr": lr}, ylabel="lr"))
    if speed := run.series("items_per_s"):
        panels.append(Panel("throughput", {"items/s": speed}, ylabel="items per second"))
    if not panels:
        section.missing = "metrics.csv has no loss or lr rows yet, so there is nothing to plot."
        return section
    section.add(
        paragraph("Each point is the mean over one logging window (train.log_every).", "note")
    )
    section.add(_figure(save, "loss_lr.png", panels_png(panels, columns=3), "loss and lr curves"))
    return section


def _final_knn(run: RunData) -> float | None:
    """The evaluation's kNN top-1 of the trained encoder, when eval.json has it."""
    for record in run.eval_records or []:
        if record.get("metric") == "knn_top1" and str(record.get("system", "")).startswith(
            "contrastkit"
        ):
            return float(record["value"])
    return None


def knn_curve(run: RunData, save: Save) -> Section:
    """The online kNN monitor's top-1 accuracy (held-out training items) over steps."""
    section = Section("knn", "Online kNN accuracy")
    knn = run.series("knn_top1")
    if knn is None:
        why = (
            "the monitor was off (train.monitor_every=0, data.holdout=0), the data has no "
            f"labels, or {run.kind} runs have no monitor"
        )
        section.missing = f"metrics.csv has no knn_top1 rows: {why}."
        return section
    steps, values = knn
    curve = (list(steps), list(values))  # fractions, as every score the package prints
    hlines = {}
    if (final := _final_knn(run)) is not None:
        hlines["final evaluation (test split)"] = final
    panel = Panel(
        "kNN-monitor top-1", {"monitor": curve}, ylabel="top-1", hlines=hlines, markers=True
    )
    section.add(
        paragraph(
            f"{len(values)} checks; last {values[-1]:.3f}, best {max(values):.3f}. "
            "Queries are training items held out of training (data.holdout); the bank is a "
            "sample of the training split.",
            "note",
        )
    )
    section.add(_figure(save, "knn.png", panels_png([panel], columns=1), "kNN monitor curve"))
    return section


_DIAGNOSTICS = (
    (
        "rep_std",
        "normalised std (higher is better)",
        "per-dimension std of the unit-norm embeddings times sqrt(D), about 1 when spread "
        "over the sphere and near 0 when collapsed",
    ),
    ("rep_rank", "effective rank", "falling towards 1 is dimensional collapse"),
    (
        "align",
        "alignment (lower is better)",
        "mean squared distance between the unit-norm views of an item, from 0 to 4",
    ),
    (
        "uniform",
        "uniformity (lower is better)",
        "log mean exp(-2 d^2) over pairs of items, 0 when collapsed",
    ),
)


def collapse(run: RunData, save: Save) -> Section:
    """Collapse diagnostics over time: std, effective rank, alignment and uniformity."""
    section = Section("collapse", "Collapse diagnostics")
    vlines = {}
    if (step := run.summary.get("collapsed_at_step")) is not None:
        vlines["collapse detected"] = float(step)
    panels = []
    notes = []
    for column, title, meaning in _DIAGNOSTICS:
        if found := run.series(column):
            panels.append(Panel(title, {column: found}, ylabel=column, vlines=vlines))
            notes.append(f"{column}: {meaning}")
    if not panels:
        section.missing = (
            "metrics.csv has no rep_std, rep_rank, align or uniform rows: this run did not "
            "log collapse diagnostics."
        )
        return section
    section.add(paragraph("; ".join(notes) + ".", "note"))
    section.add(
        _figure(save, "collapse.png", panels_png(panels, columns=2), "collapse diagnostics")
    )
    return section


def embedding_map(
    material: Material | None, xy: np.ndarray | None, projection: str, reason: str, save: Save
) -> Section:
    """The 2-D map of embeddings, coloured by label."""
    section = Section("embedding-map", "Embedding map")
    if material is None or xy is None:
        section.missing = f"No embedding map: {reason}"
        return section
    title = f"{projection} of {material.map_source}"
    colour = "coloured by label" if material.map_labels is not None else "no labels to colour by"
    section.add(paragraph(f"{title}, cosine geometry, {colour}.", "note"))
    png = embedding_map_png(xy, material.map_labels, material.class_names, title)
    section.add(_figure(save, "embedding_map.png", png, title))
    return section


def _name(material: Material, labels: np.ndarray | None, position: int) -> str:
    """The class name of item `position` of `labels` ("" without labels)."""
    if labels is None:
        return ""
    label, names = int(labels[position]), material.class_names
    return names[label] if names and 0 <= label < len(names) else str(label)


def _marks(material: Material, index: np.ndarray) -> list[list[bool | None]]:
    """Per query and neighbour: same label (True), not (False), unknown (None)."""
    marks = []
    for i, row in enumerate(index):
        if material.query_labels is not None and material.bank_labels is not None:
            wanted = int(material.query_labels[i])
            marks.append([int(material.bank_labels[j]) == wanted for j in row])
        else:
            marks.append([None] * len(row))
    return marks


def neighbours(material: Material | None, k: int, reason: str, save: Save) -> Section:
    """Nearest neighbours of a few queries by cosine similarity: a grid or a text table."""
    section = Section("neighbours", "Nearest neighbours")
    if material is None or not material.query_items:
        section.missing = f"No nearest neighbours: {reason}"
        return section
    index, sims = cosine_top_k(
        material.query_vectors,
        material.bank_vectors,
        k,
        query_ids=material.query_ids,
        bank_ids=material.bank_ids,
    )
    marks = _marks(material, index)
    flat = [m for row in marks for m in row if m is not None]
    score = f" {sum(flat)} of {len(flat)} neighbours match." if flat else ""
    rule = (
        "green border: same label, red: different label"
        if flat
        else "no labels, so neighbours are not marked"
    )
    section.add(
        paragraph(
            f"Top-{index.shape[1]} neighbours by cosine similarity among {material.bank_source}; "
            f"{rule}.{score}",
            "note",
        )
    )
    if material.modality == "image":
        section.add(_image_grid(material, index, sims, marks, save))
    else:
        section.add(_text_table(material, index, sims, marks))
    return section


def _image_grid(
    material: Material,
    index: np.ndarray,
    sims: np.ndarray,
    marks: list[list[bool | None]],
    save: Save,
) -> str:
    """The query/neighbour image grid, captioned with class names and similarities."""
    q_labels, b_labels = material.query_labels, material.bank_labels
    query_captions = [_name(material, q_labels, i) for i in range(len(index))]
    captions = [
        [f"{_name(material, b_labels, j)} {s:.2f}".strip() for j, s in zip(row, srow, strict=True)]
        for row, srow in zip(index, sims, strict=True)
    ]
    pictures = [[material.bank_items[j].numpy() for j in row] for row in index]
    png = neighbour_grid_png(material.query_items, pictures, marks, query_captions, captions)
    return _figure(save, "neighbours.png", png, "query images and their neighbours")


def _text_table(
    material: Material, index: np.ndarray, sims: np.ndarray, marks: list[list[bool | None]]
) -> str:
    """One table row per (query, neighbour); neighbour cells shaded green/red by the marks."""
    rows, classes = [], {}
    for i, row in enumerate(index):
        for rank, (j, s) in enumerate(zip(row, sims[i], strict=True)):
            query = material.query_items[i] if rank == 0 else ""
            rows.append((query, rank + 1, material.bank_items[j], f"{s:.3f}"))
            if marks[i][rank] is not None:
                classes[(len(rows) - 1, 2)] = "same" if marks[i][rank] else "different"
    header = ["query", "rank", "neighbour", "cosine"]
    return table(header, rows, numeric=[False, True, False, True], cell_classes=classes)


_METRIC_NAMES = {
    "knn_top1": "kNN top-1",
    "linear_top1": "linear top-1",
    "linear_macro_precision": "linear macro P",
    "linear_macro_recall": "linear macro R",
    "linear_macro_f1": "linear macro F1",
}


def _score(value: float) -> str:
    """A score as the command line prints it: a fraction with three decimals."""
    return f"{value:.3f}"


def _score_or_na(value: float | None) -> str:
    return "n/a" if value is None else _score(value)


def evaluation(run: RunData, reason: str | None) -> Section:
    """The evaluation table: the trained encoder against the baselines."""
    section = Section("evaluation", "Evaluation against baselines")
    records = run.eval_records
    if not records:
        section.missing = reason or (
            "There is no eval.json: run `contrastkit evaluate RUN_DIR` (or make the report "
            "with --evaluate) to score the encoder against its baselines."
        )
        return section
    metrics = list(dict.fromkeys(r["metric"] for r in records if "seconds" not in r["metric"]))
    systems = list(dict.fromkeys(r["system"] for r in records))
    # a null value (eval.json's `value_reason` says why, e.g. a constant similarity's
    # undefined correlation) is shown as "n/a", a metric a system lacks as an empty cell
    values = {
        (r["system"], r["metric"]): None if r["value"] is None else float(r["value"])
        for r in records
    }
    rows, bold = [], set()
    for c, metric in enumerate(metrics, start=1):
        column = [values.get((s, metric)) for s in systems]
        best = max((v for v in column if v is not None), default=None)
        bold |= {(r, c) for r, v in enumerate(column) if v is not None and v == best}
    for system in systems:
        cells = [
            "" if (system, m) not in values else _score_or_na(values[(system, m)]) for m in metrics
        ]
        rows.append([system, *cells])
    e = run.config.eval
    knn = any(r["metric"] == "knn_top1" for r in records)
    setting = f" kNN uses k={e.knn_k}, temperature {e.knn_temperature}." if knn else ""
    section.add(
        paragraph(
            "Frozen embeddings scored on the test split (from eval.json); the best value of "
            f"each column is in bold.{setting}",
            "note",
        )
    )
    header = ["system", *(_METRIC_NAMES.get(m, m) for m in metrics)]
    section.add(table(header, rows, numeric=[False] + [True] * len(metrics), bold=bold))
    return section


def page_subtitle(run: RunData) -> str:
    """One line: method, data and how long the run trained."""
    s = run.summary
    budget = f", {s['steps']:,} steps" if isinstance(s.get("steps"), int) else ""
    return f"{run.method} on {run.dataset}{budget}"
