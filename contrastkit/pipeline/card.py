"""Model cards: README.md in the Hugging Face hub format, written from a run's own records
(config.yaml, summary.json, eval.json) into the run folder and into every export.

The YAML front matter carries library_name, tags, datasets and a model-index with the
trained model's metrics; the body says what the model was trained on and how, the
evaluation table with its baselines, and how to load it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from contrastkit.pipeline.settings import CONFIG_FILE

__all__ = ["CARD_FILE", "model_card", "write_card"]

CARD_FILE = "README.md"

_TASK = {
    "image": "image-feature-extraction",
    "image-text": "zero-shot-image-classification",
    "text": "sentence-similarity",
}

_LOAD = {
    "onnx": """```python
import json, numpy as np, onnxruntime as ort
session = ort.InferenceSession("{path}/model.onnx")
steps = json.load(open("{path}/preprocessing.json"))  # how raw items become the input
z = session.run(None, {{"{input}": x.astype(np.float32)}})[0]  # x: {shape} -> (N, {dim})
```""",
    "torchscript": """```python
import torch
model = torch.jit.load("{path}/model.pt").eval()  # preprocessing: preprocessing.json
z = model(x)  # x: {shape} float32 -> (N, {dim})
```""",
    "torchvision": """```python
import torch, torchvision
model = torchvision.models.{arch}()
missing, unexpected = model.load_state_dict(torch.load("{path}/{arch}.pth"), strict=False)
assert set(missing) == {{"fc.weight", "fc.bias"}} and not unexpected  # the classifier is yours
model.fc = torch.nn.Identity()  # or a new head to fine-tune
```""",
    "sentence-transformers": """```python
from sentence_transformers import SentenceTransformer
model = SentenceTransformer("{path}")
z = model.encode(["a sentence", "another one"])
```""",
}


def _read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def _budget(train: dict[str, Any]) -> str:
    parts = [f"{k} {train[k]}" for k in ("steps", "epochs", "max_time") if train.get(k)]
    return ", ".join(parts) or "?"


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _eval_table(rows: list[dict[str, Any]]) -> str:
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    systems = list(dict.fromkeys(r["system"] for r in rows))
    values = {(r["system"], r["metric"]): r["value"] for r in rows}
    lines = ["| system | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for s in systems:
        cells = [_number(values[(s, m)]) if (s, m) in values else "" for m in metrics]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _front_matter(cfg: dict, rows: list[dict], name: str) -> str:
    data, method = cfg["data"], cfg["method"]["name"]
    dataset = Path(str(data["dataset"])).name
    meta: dict[str, Any] = {
        "library_name": "contrastkit",
        "tags": [
            "contrastkit",
            "self-supervised-learning",
            "contrastive-learning",
            data["modality"],
            method,
        ],
        "datasets": [dataset],
        "pipeline_tag": _TASK.get(data["modality"], "feature-extraction"),
    }
    trained = [r for r in rows if r["system"].startswith("contrastkit")]
    if trained:
        meta["model-index"] = [{
            "name": name,
            "results": [{
                "task": {"type": "feature-extraction", "name": f"{data['modality']} embeddings"},
                "dataset": {"name": dataset, "type": dataset},
                "metrics": [{"type": r["metric"], "name": r["metric"], "value": r["value"]}
                            for r in trained if isinstance(r["value"], int | float)],
            }],
        }]  # fmt: skip
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n"


def model_card(run_dir: str | Path, fmt: str = "run", path: str | None = None) -> str:
    """The README.md text of a run folder (`fmt` "run") or of its export in `fmt`.

    Args:
        run_dir: the run folder, whose config.yaml, summary.json and eval.json it reads.
        fmt: "run", "safetensors", "onnx", "torchscript", "torchvision" or
            "sentence-transformers": which loading snippet comes first.
        path: the folder named in the snippets (default: the run folder).
    """
    run = Path(run_dir)
    cfg = yaml.safe_load((run / CONFIG_FILE).read_text())
    summary = _read(run / "summary.json") or {}
    evaluation = _read(run / "eval.json") or {}
    rows = evaluation.get("rows", [])
    d, m, t, o = cfg["data"], cfg["model"], cfg["train"], cfg["optim"]
    method = cfg["method"]
    params = ", ".join(f"{k}={v}" for k, v in method.items() if k != "name")
    name = run.resolve().name
    backbone = m.get("backbone") or m.get("name") or m.get("conv") or "default"
    where = path or str(run)
    lines = [
        _front_matter(cfg, rows, name),
        f"# {name}",
        "",
        f"{'An' if d['modality'][0] in 'aeiou' else 'A'} {d['modality']} encoder trained with "
        f"contrastkit by {method['name']} on {d['dataset']}. Every number below comes from "
        "this run's own records (config.yaml, summary.json, eval.json).",
        "",
        "## Training",
        "",
        "| | |",
        "|---|---|",
        f"| dataset | {d['dataset']} |",
        f"| data | {summary.get('data', '?')} |",
        f"| modality | {d['modality']} |",
        f"| method | {method['name']} ({params}) |",
        f"| model | {backbone} |",
        f"| budget | {_budget(t)}, batch size {t['batch_size']} |",
        f"| optimiser | {o['optimizer']}, lr {o['lr']}, weight decay {o['weight_decay']} |",
        f"| precision, seed | {t['precision']}, {t['seed']} |",
    ]
    if summary:
        lines += [
            f"| trained | {summary.get('steps')} steps, {summary.get('epochs', 0):.2f} epochs "
            f"in {summary.get('train_seconds', 0):.1f} s on {summary.get('device', '?')} "
            f"x {summary.get('world_size', 1)} |",
            f"| throughput | {summary.get('items_per_second', 0):,.0f} items/s |",
            f"| final loss | {_number(summary.get('final_loss'))} |",
        ]
    lines += ["", "## Evaluation", ""]
    if rows:
        s = evaluation.get("settings", {})
        knobs = ", ".join(f"{k} {s[k]}" for k in ("knn_k", "knn_temperature") if k in s)
        lines += [
            f"The trained encoder beside the baselines, scored in one run ({knobs}; "
            "`contrastkit evaluate`):",
            "",
            _eval_table(rows),
        ]
    else:
        lines.append(f"Not evaluated yet: `contrastkit evaluate {run}` writes the table.")
    # contrastkit.load reads run folders and their safetensors, ONNX and sentence-
    # transformers exports; a TorchScript or torchvision export is loaded from its run
    loadable, loadable_note = where, "a run folder, its safetensors or ONNX export"
    if fmt in ("torchscript", "torchvision"):
        loadable, loadable_note = str(run), f"the run folder this {fmt} export came from"
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "import contrastkit",
        f'encoder = contrastkit.load("{loadable}")  # {loadable_note}',
        "z = encoder.encode(items)  # (N, D) float32, read as the run reads its data",
        "```",
    ]
    if fmt in _LOAD:
        lines += ["", f"This folder holds the {fmt} export:", "", _load_snippet(fmt, where, run)]
    lines += ["", "Command line: `contrastkit embed RUN_DIR -o vectors.npz`, "
              "`contrastkit export RUN_DIR --format onnx|torchscript|safetensors|"
              "sentence-transformers|torchvision`."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _load_snippet(fmt: str, where: str, run: Path) -> str:
    info = _read(Path(where) / "preprocessing.json") or {}
    cfg = yaml.safe_load((run / CONFIG_FILE).read_text())
    arch = str(cfg["model"].get("backbone", "")).split(":")[-1]
    return _LOAD[fmt].format(
        path=where, input=info.get("input_name", "x"), shape=info.get("input", "(N, ...)"),
        dim=info.get("output_dim", "D"), arch=arch,
    )  # fmt: skip


def write_card(run_dir: str | Path, out_dir: str | Path | None = None, fmt: str = "run") -> Path:
    """Write README.md into `out_dir` (default: the run folder); returns its path."""
    out = Path(out_dir) if out_dir is not None else Path(run_dir)
    path = out / CARD_FILE
    path.write_text(model_card(run_dir, fmt, str(out)))
    return path
