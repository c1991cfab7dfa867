"""`contrastkit report`: one self-contained HTML page about a run, plus its figures as PNGs.

The page (report.html in the run folder by default) embeds every figure as a base64 PNG
data URI and loads nothing from elsewhere, so it opens offline; the same PNGs are kept in
RUN_DIR/report/ for slides and papers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from contrastkit.errors import ContrastkitError
from contrastkit.extras import require
from contrastkit.progress import bar
from contrastkit.report import sections
from contrastkit.report.embeddings import project_2d, resolve_projection
from contrastkit.report.html import render_page
from contrastkit.report.material import Material, load_material
from contrastkit.report.run_data import RunData, load_run

REPORT_FILE = "report.html"
FIGURE_DIR = "report"


def _check_options(points: int, bank: int, queries: int, k: int) -> None:
    for name, value, low in (("points", points, 0), ("bank", bank, 0), ("queries", queries, 0)):
        if value < low:
            raise ContrastkitError(f"--{name} must be >= {low}, got {value}")
    if k < 1:
        raise ContrastkitError(f"-k must be >= 1, got {k}")


def _evaluation_reason(run: RunData, evaluate: bool, log: Callable[[str], None]) -> str | None:
    """Run the evaluation of a run that has none (when allowed); why not, if not."""
    if run.eval_records is not None:
        return None
    if not evaluate:
        return (
            "There is no eval.json and the report was made with --no-evaluate: run "
            f"`contrastkit evaluate {run.path}`, then make the report again."
        )
    from contrastkit.pipeline.evaluate_run import evaluate as run_evaluate

    log("eval.json is missing: evaluating the encoder against its baselines")
    try:
        run_evaluate(run.path, baselines=run.config.eval.baselines, linear=run.config.eval.linear)
    except ContrastkitError as exc:
        return f"The evaluation could not run: {exc}"
    run.reload_eval()
    return None


def build_report(
    run_dir: str | Path,
    output: str | Path | None = None,
    *,
    points: int = 2000,
    bank: int = 10000,
    queries: int = 6,
    k: int = 8,
    evaluate: bool = True,
    projection: str = "auto",
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write the HTML report of a run folder and its figures.

    Sections: overview, loss and learning rate, online kNN, collapse diagnostics,
    embedding map, nearest neighbours, evaluation against baselines. A section whose data
    is missing says why in a sentence.

    Args:
        run_dir: a folder written by `contrastkit train`.
        output: the HTML file to write (default RUN_DIR/report.html).
        points: items on the embedding map (a seeded sample); 0 skips the map and the
            neighbours.
        bank: items searched for neighbours (a seeded sample of the training split);
            0 searches the whole split.
        queries: query items in the neighbours section.
        k: neighbours shown per query.
        evaluate: when the run has no eval.json, run the evaluation (against the raw-input
            and random-init baselines) and include it.
        projection: "auto" (UMAP when umap-learn is installed, else t-SNE), "tsne",
            "umap" or "pca".
        seed: seed of the samples and the projection.
        log: called with a line per long step (default: silent); progress bars go to
            stderr as `contrastkit.progress.progress_bars` says.

    Returns:
        The path of the HTML file written.

    Raises:
        ContrastkitError: not a run folder, an invalid option, or matplotlib missing.

    Example:
        >>> build_report("runs/simclr-fashion-mnist-20250101-120000")  # doctest: +SKIP
        PosixPath('runs/simclr-fashion-mnist-20250101-120000/report.html')
    """
    log = log or (lambda _line: None)
    _check_options(points, bank, queries, k)
    require("matplotlib", extra="report", purpose="the run report")
    projection = resolve_projection(projection)
    run = load_run(run_dir)
    figures = run.path / FIGURE_DIR
    figures.mkdir(parents=True, exist_ok=True)

    def save(name: str, png: bytes) -> None:
        (figures / name).write_bytes(png)

    steps = bar(4, "report", unit="step")  # on stderr, as `progress_bars` says
    steps.set_postfix_str("evaluation")
    eval_reason = _evaluation_reason(run, evaluate, log)
    steps.update()
    material: Material | None = None
    xy, projection_name, reason = None, "", "skipped (--points 0)."
    if points > 0:
        steps.set_postfix_str("embeddings")
        try:
            material = load_material(
                run, points=points, bank=bank, queries=queries, seed=seed, log=log
            )
        except ContrastkitError as exc:
            reason = str(exc)
    steps.update()
    if material is not None:
        steps.set_postfix_str("projection")
        log(f"projecting {len(material.map_vectors)} embeddings to 2-D ({projection})")
        xy, projection_name = project_2d(material.map_vectors, projection, seed)
    steps.update()
    steps.set_postfix_str("figures")
    parts = [
        sections.overview(run),
        sections.loss_and_lr(run, save),
        sections.knn_curve(run, save),
        sections.collapse(run, save),
        sections.embedding_map(material, xy, projection_name, reason, save),
        sections.neighbours(material, k, reason, save),
        sections.evaluation(run, eval_reason),
    ]
    steps.update()
    steps.close()
    page = render_page(
        f"contrastkit run report: {run.name}",
        sections.page_subtitle(run),
        parts,
        f"made by `contrastkit report` on {time.strftime('%Y-%m-%d %H:%M')}; figures also in "
        f"{figures}",
    )
    target = Path(output) if output is not None else run.path / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target


def report_hint(run_dir: str | Path) -> str:
    """One line for the end of training: where the report is, or how to make it.

    Args:
        run_dir: the run folder just written.

    Returns:
        "report: RUN_DIR/report.html" when it exists, else the command that writes it.

    Example:
        >>> report_hint("runs/demo")
        'report: run `contrastkit report runs/demo` to write runs/demo/report.html'
    """
    path = Path(run_dir) / REPORT_FILE
    if path.is_file():
        return f"report: {path}"
    return f"report: run `contrastkit report {run_dir}` to write {path}"
