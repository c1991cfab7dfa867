"""The output folder of `contrastkit tune-views`: best.yaml (the winning recipe),
tune.json (every trial), tune.md (the table) and tune.png (score per trial)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contrastkit.config import dump_config
from contrastkit.errors import MissingExtraError
from contrastkit.files import write_json
from contrastkit.pipeline.tune_views import Trial, TuneResult
from contrastkit.report.plots import new_figure, to_png

__all__ = ["tune_markdown", "tune_record", "write_tune_folder"]

_NAMES = {"knn_top1": "validation kNN", "recall@1": "validation recall@1", "rankme": "RankMe"}


def tune_record(result: TuneResult, **meta: Any) -> dict[str, Any]:
    """tune.json's content: the search's settings, every trial and the agreement."""
    return {
        **meta,
        "modality": result.base.data.modality,
        "dataset": result.base.data.dataset,
        "criterion": result.criterion,
        "split": result.split,
        "grid": {f.name: [level.values for level in f.levels] for f in result.factors},
        "best": result.best_index,
        "agreement": result.agreement,
        "trials": [_trial_record(t) for t in result.trials],
    }


def _trial_record(t: Trial) -> dict[str, Any]:
    return {"index": t.index, "trial": t.label, "views": t.views, "steps": t.steps,
            "seconds": round(t.seconds, 2), "scores": t.scores, "run_dir": t.run_dir}  # fmt: skip


def _cell(t: Trial, key: str) -> str:
    if key not in t.scores:
        return "-"
    return f"{t.scores[key]:.2f}" if key == "rankme" else f"{t.scores[key]:.3f}"


def tune_markdown(result: TuneResult) -> str:
    """The trials as a markdown table, the winner marked, and the agreement line."""
    keys = [k for k in ("knn_top1", "recall@1", "rankme") if k in result.trials[0].scores]
    head = ["#", "trial", "steps", *(_NAMES[k] for k in keys), "seconds"]
    lines = [
        f"# tune-views: {result.base.data.dataset}",
        "",
        f"Winner by {_NAMES[result.criterion]} on {result.split['validation']:,} validation "
        f"items held out of the training items (proxy runs train on "
        f"{result.split['train']:,}; the test split is not read)"
        + (
            f", whole groups of `{result.split['group']}` on one side."
            if "group" in result.split
            else "."
        ),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for t in result.trials:
        mark = " **(best)**" if t.index == result.best_index else ""
        cells = [str(t.index), t.label + mark, str(t.steps), *(_cell(t, k) for k in keys),
                 f"{t.seconds:.0f}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    a = result.agreement
    if a.get("against"):
        rho, tau = a["spearman"], a["kendall"]
        text = "undefined" if rho is None else f"Spearman {rho:.2f}, Kendall {tau:.2f}"
        lines += ["", f"RankMe vs {_NAMES[a['against']]} over {a['trials']} trials: {text}."]
    return "\n".join(lines) + "\n"


def tune_png(result: TuneResult) -> bytes:
    """A bar per trial of the winning criterion, RankMe as points on a second axis."""
    fig = new_figure(figsize=(max(5.0, 0.7 * len(result.trials) + 2), 3.4))
    ax = fig.add_subplot(1, 1, 1)
    x = list(range(len(result.trials)))
    key = result.criterion
    values = [t.scores.get(key, 0.0) for t in result.trials]
    colours = ["tab:orange" if i == result.best_index else "tab:blue" for i in x]
    ax.bar(x, values, color=colours)
    ax.set_ylabel(_NAMES[key])
    ax.set_xticks(x, [t.label for t in result.trials], rotation=35, ha="right", fontsize=8)
    if key != "rankme":
        low = min(values)
        ax.set_ylim(max(0.0, low - 0.1 * (max(values) - low + 0.01) - 0.02), None)
        twin = ax.twinx()
        twin.plot(x, [t.scores["rankme"] for t in result.trials], "k.", label="RankMe")
        twin.set_ylabel("RankMe")
    ax.set_title(f"tune-views: {Path(result.base.data.dataset).name}")
    return to_png(fig)


def write_tune_folder(result: TuneResult, out_dir: Path, **meta: Any) -> list[str]:
    """Write best.yaml, tune.json, tune.md and (with the `report` extra) tune.png to
    `out_dir`; returns a line per file not written and why."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "best.yaml").write_text(dump_config(result.best))
    write_json(out_dir / "tune.json", tune_record(result, **meta))
    (out_dir / "tune.md").write_text(tune_markdown(result))
    try:
        (out_dir / "tune.png").write_bytes(tune_png(result))
    except MissingExtraError as exc:
        return [f"no tune.png: {exc}"]
    return []
