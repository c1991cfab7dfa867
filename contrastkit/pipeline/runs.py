"""Run folders: where a run keeps its config, logs, checkpoints, weights and results.

Every modality writes the same layout: config.yaml (the resolved config, `data.modality`
included: what the folder holds is read from it, never guessed), metrics.csv,
tensorboard/ (and wandb/, mlflow.db with those loggers: `contrastkit.train.loggers`),
checkpoints/, encoder.safetensors and method.safetensors (final weights), summary.json,
eval.json and eval.txt after evaluation, report.html; plus a modality's own exports
(text: model/, a sentence-transformers folder) and preprocess.json (what the model needs
to read new inputs without the training data: `contrastkit.pipeline.preprocess`).

The rules that keep a folder's files from one run:

- a new run starts in a missing or empty folder; a folder holding a run is replaced only
  with `overwrite` (everything in it is removed first), anything else is refused;
- the default folder is new: runs/<method>-<dataset>-<time>, with -2, -3... if taken;
- a resume keeps the run's config.yaml; it may change only the keys of `RESUME_KEYS`
  (budget, device, threads) unless told to accept other changes, which are then recorded.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

from contrastkit.config import Config, dump_config
from contrastkit.errors import ConfigError
from contrastkit.files import atomic_write
from contrastkit.pipeline.settings import CONFIG_FILE

__all__ = ["RESUME_KEYS", "changed_keys", "check_resume_config", "claim_run_dir", "new_run_dir",
           "write_config"]  # fmt: skip

RESUME_KEYS = frozenset(
    {"train.epochs", "train.steps", "train.max_time", "train.device", "train.threads",
     "train.run_dir"}
)  # fmt: skip


def new_run_dir(cfg: Config, root: str | Path = "runs") -> Path:
    """runs/<method>-<dataset>-<YYYYmmdd-HHMMSS>, or cfg.train.run_dir when set.

    A timestamped name already taken (two runs started in one second) gains -2, -3, ...
    """
    if cfg.train.run_dir:
        return Path(cfg.train.run_dir)
    name = re.sub(r"[^\w.-]+", "", Path(cfg.data.dataset).stem) or "data"  # no {..} of shards
    base = Path(root) / f"{cfg.method.name}-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def claim_run_dir(run_dir: Path, *, overwrite: bool = False) -> None:
    """Make sure a new run starts in an empty folder: no file of an earlier run survives.

    A missing or empty folder is fine. With `overwrite`, a folder holding a run (its
    config.yaml) is emptied; anything else that is not empty is refused.

    Raises:
        ConfigError: the folder is not empty (and not replaced), or it is a file.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is a file, not a folder; train into another folder (-o)")
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return
    holds_run = (run_dir / CONFIG_FILE).is_file()
    if overwrite and holds_run:
        for entry in run_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        return
    if holds_run:
        raise ConfigError(
            f"{run_dir} holds a run already: continue it with --resume {run_dir}, replace it "
            "with --overwrite, or train into another folder (-o; by default a new timestamped "
            "folder under runs/)"
        )
    raise ConfigError(
        f"{run_dir} is not empty and holds no contrastkit run (no {CONFIG_FILE}); train into "
        "an empty or new folder (-o), --overwrite only replaces a run folder"
    )


def write_config(run_dir: Path, cfg: Config) -> None:
    atomic_write(run_dir / CONFIG_FILE, lambda tmp: Path(tmp).write_text(dump_config(cfg)))


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(_flat(value, f"{prefix}{key}."))
    return {k.rstrip("."): v for k, v in out.items()}


def changed_keys(old: Config, new: Config) -> list[str]:
    """Dotted keys whose values differ between two configs, sorted."""
    a, b = _flat(old.model_dump(mode="json")), _flat(new.model_dump(mode="json"))
    return sorted(k for k in set(a) | set(b) if a.get(k, ...) != b.get(k, ...))


def check_resume_config(
    run_dir: Path, saved: Config, wanted: Config, *, allow_change: bool = False
) -> list[str]:
    """The keys a resume changes; refused, unless `allow_change`, when any is outside
    `RESUME_KEYS` (a changed method, data or schedule would mix two runs in one folder).

    Raises:
        ConfigError: names the changed keys with their saved and new values.
    """
    changed = changed_keys(saved, wanted)
    other = [k for k in changed if k not in RESUME_KEYS]
    if other and not allow_change:
        a, b = _flat(saved.model_dump(mode="json")), _flat(wanted.model_dump(mode="json"))
        shown = ", ".join(f"{k} ({a.get(k)!r} -> {b.get(k)!r})" for k in other[:6])
        more = f" and {len(other) - 6} more" if len(other) > 6 else ""
        raise ConfigError(
            f"resuming {run_dir} would change {shown}{more} from its config.yaml; pass "
            "--allow-config-change to continue with the new values, or train a new run"
        )
    return changed
