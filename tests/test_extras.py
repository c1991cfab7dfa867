"""Optional dependencies: the core imports without them, and a feature that needs one says
which extra installs it (the module hidden with `sys.modules[name] = None`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from contrastkit.data.tabular import read_table
from contrastkit.data.tabular_datasets import load_table_splits
from contrastkit.errors import ContrastkitError, MissingExtraError
from contrastkit.extras import require

ROOT = Path(__file__).resolve().parents[1]


def test_core_imports_without_pandas_and_matplotlib() -> None:
    code = (
        "import sys\n"
        "for name in ('pandas', 'matplotlib', 'transformers', 'faiss'):\n"
        "    sys.modules[name] = None\n"
        "import contrastkit, contrastkit.losses, contrastkit.cli, contrastkit.report\n"
        "from contrastkit.pipeline import train_run\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_require_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(
        MissingExtraError, match=r"reading X needs pandas: pip install 'contrastkit\[table\]'"
    ):
        require("pandas", extra="table", purpose="reading X")


def test_named_sklearn_table_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ContrastkitError, match=r"'wine' needs pandas.*contrastkit\[table\]"):
        load_table_splits("wine")


def test_csv_table_needs_no_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1,x,p\nNA,z,q\n3,x,p\n")
    table = read_table(path, label="y")
    np.testing.assert_array_equal(np.isnan(table.numeric["a"]), [False, True, False])
    assert list(table.categorical["b"]) == ["x", "z", "x"]


def test_report_figures_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    from contrastkit.report.plots import Panel, panels_png

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingExtraError, match=r"report's figures needs matplotlib.*\[report\]"):
        panels_png([Panel("loss", {"train": ([0, 1], [1.0, 0.5])})])


def test_report_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contrastkit.report import build_report

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"the run report needs matplotlib"):
        build_report(tmp_path)
