"""The report's figures, drawn with matplotlib's Agg canvas and returned as PNG bytes.

Figures are built with `matplotlib.figure.Figure` and an explicit Agg canvas, never with
pyplot, so making a report neither needs a display nor changes the process-wide backend.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from contrastkit.extras import require

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Series = tuple[Sequence[float], Sequence[float]]

SAME_COLOUR = "#1a9a3a"
DIFFERENT_COLOUR = "#d62728"
QUERY_COLOUR = "#1d2330"
DPI = 100


@dataclass
class Panel:
    """One small plot: named lines over training steps, with optional reference lines.

    Attributes:
        title: the panel's title.
        lines: label -> (x, y) to draw as lines.
        ylabel: the y-axis label.
        xlabel: the x-axis label.
        logy: a logarithmic y axis (for positive values spanning decades).
        hlines: label -> y of dashed horizontal reference lines.
        vlines: label -> x of dotted vertical markers (e.g. the step a collapse was seen).
        markers: draw points too (for sparse series such as kNN checks).
    """

    title: str
    lines: dict[str, Series]
    ylabel: str = ""
    xlabel: str = "step"
    logy: bool = False
    hlines: dict[str, float] = field(default_factory=dict)
    vlines: dict[str, float] = field(default_factory=dict)
    markers: bool = False


def new_figure(**kwargs: Any) -> Figure:
    """A matplotlib Figure (not pyplot's), or an error naming the `report` extra."""
    figure = require("matplotlib.figure", extra="report", purpose="the run report's figures")
    return figure.Figure(**kwargs)


def to_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes with the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def _smoothed(y: np.ndarray) -> np.ndarray | None:
    """A centred running mean when the series is long enough to be noisy, else None."""
    width = len(y) // 25
    if width < 3:
        return None
    kernel = np.ones(width) / width
    padded = np.pad(y, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def panels_png(panels: Sequence[Panel], columns: int = 2) -> bytes:
    """Draw panels on a grid and return the PNG.

    Long series are drawn faintly with a running mean on top, so trends stay readable.

    Args:
        panels: at least one panel.
        columns: panels per row.

    Returns:
        The PNG bytes.
    """
    if not panels:
        raise ValueError("panels must not be empty")
    columns = max(1, min(columns, len(panels)))
    rows = -(-len(panels) // columns)
    fig = new_figure(figsize=(5.2 * columns, 3.4 * rows))
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(rows, columns, i + 1)
        for label, (x, y) in panel.lines.items():
            xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
            smooth = _smoothed(ys)
            style = {"marker": "o", "markersize": 4} if panel.markers else {}
            if smooth is None:
                ax.plot(xs, ys, label=label, linewidth=1.6, **style)
            else:
                (raw,) = ax.plot(xs, ys, linewidth=0.8, alpha=0.3)
                ax.plot(xs, smooth, color=raw.get_color(), linewidth=1.8, label=label)
        for label, y in panel.hlines.items():
            ax.axhline(y, linestyle="--", linewidth=1.2, color="#555555", label=label)
        for label, x in panel.vlines.items():
            ax.axvline(x, linestyle=":", linewidth=1.5, color=DIFFERENT_COLOUR, label=label)
        if panel.logy:
            ax.set_yscale("log")
        ax.set_title(panel.title, fontsize=11)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        if len(panel.lines) + len(panel.hlines) + len(panel.vlines) > 1:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return to_png(fig)


def _palette(n: int) -> list[tuple[float, float, float, float]]:
    """n distinguishable colours: tab10, tab20, then evenly spaced hues."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["hsv"](i / n) for i in range(n)]


def embedding_map_png(
    xy: np.ndarray,
    labels: np.ndarray | None,
    class_names: Sequence[str] | None,
    title: str,
    max_legend: int = 20,
) -> bytes:
    """A 2-D scatter of projected embeddings, coloured by label with a legend of class names.

    Args:
        xy: (N, 2) projected points.
        labels: (N,) int labels, or None to draw every point in one colour.
        class_names: names indexed by label (default: the label numbers).
        title: the plot title (says which projection and how many points).
        max_legend: more classes than this are coloured but not listed.

    Returns:
        The PNG bytes.
    """
    fig = new_figure(figsize=(8.4, 6.6))
    ax = fig.add_subplot(1, 1, 1)
    size = 10 if len(xy) <= 3000 else 5
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color="#3366aa", alpha=0.7, linewidths=0)
    else:
        present = sorted(int(v) for v in np.unique(labels))
        colours = _palette(len(present))
        for colour, label in zip(colours, present, strict=True):
            mask = labels == label
            name = class_names[label] if class_names and label < len(class_names) else str(label)
            ax.scatter(
                xy[mask, 0], xy[mask, 1], s=size, color=colour, alpha=0.75, linewidths=0, label=name
            )
        if len(present) <= max_legend:
            ax.legend(
                loc="center left",
                bbox_to_anchor=(1.01, 0.5),
                markerscale=2.5,
                fontsize=9,
                frameon=False,
            )
    ax.set_title(title, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return to_png(fig)


def _as_picture(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(C, H, W) uint8 -> what imshow takes, and the colour map (gray for one channel)."""
    if image.ndim == 3 and image.shape[0] == 1:
        return image[0], "gray"
    if image.ndim == 3:
        return np.transpose(image, (1, 2, 0)), None
    return image, "gray"


def neighbour_grid_png(
    queries: Sequence[np.ndarray],
    neighbours: Sequence[Sequence[np.ndarray]],
    same: Sequence[Sequence[bool | None]],
    query_captions: Sequence[str],
    neighbour_captions: Sequence[Sequence[str]],
) -> bytes:
    """One row per query: the query image, then its neighbours with coloured borders.

    Args:
        queries: Q images, each (C, H, W) uint8.
        neighbours: per query, k images (C, H, W) uint8, nearest first.
        same: per query and neighbour, True (green border: same label), False (red:
            different) or None (grey: no labels).
        query_captions: Q short texts under the queries (e.g. class names).
        neighbour_captions: per query, k short texts (e.g. class and cosine similarity).

    Returns:
        The PNG bytes.
    """
    rows = len(queries)
    k = max((len(n) for n in neighbours), default=0)
    if rows == 0:
        raise ValueError("queries must not be empty")
    fig = new_figure(figsize=(1.25 * (k + 1), 1.55 * rows))
    for r in range(rows):
        cells = [(queries[r], QUERY_COLOUR, query_captions[r])]
        for j, picture in enumerate(neighbours[r]):
            flag = same[r][j]
            colour = "#999999" if flag is None else SAME_COLOUR if flag else DIFFERENT_COLOUR
            cells.append((picture, colour, neighbour_captions[r][j]))
        for c, (picture, colour, caption) in enumerate(cells):
            ax = fig.add_subplot(rows, k + 1, r * (k + 1) + c + 1)
            shown, cmap = _as_picture(picture)
            ax.imshow(shown, cmap=cmap, vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color(colour)
                spine.set_linewidth(4 if c else 2.5)
            ax.set_xlabel(caption, fontsize=7, labelpad=2)
            if r == 0:
                ax.set_title("query" if c == 0 else f"#{c}", fontsize=9)
    fig.tight_layout(pad=0.4, w_pad=0.3, h_pad=0.6)
    return to_png(fig)
