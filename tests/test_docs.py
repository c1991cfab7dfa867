"""The documentation site builds with warnings as errors (CI builds it through this test).

`mkdocs build --strict` fails on any warning: a broken link or anchor, a page missing
from the nav, a docstring griffe cannot parse (a parameter the signature lacks, a
reference that does not resolve). The command-line page is generated from the commands'
own `--help`, so it must list every command the app has.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.main import get_command

from contrastkit.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_docs_build_strict_with_every_command_and_the_api(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = dict(os.environ, DISABLE_MKDOCS_2_WARNING="true", NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    cli_page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for name in get_command(app).commands:  # generated from --help: nothing left out
        assert f"Usage: contrastkit {name} [OPTIONS]" in cli_page, name

    losses = (site / "reference" / "api" / "losses" / "index.html").read_text(encoding="utf-8")
    assert 'id="contrastkit.losses.nt_xent"' in losses  # rendered from the docstrings
    methods = (site / "reference" / "api" / "methods" / "index.html").read_text(encoding="utf-8")
    assert 'id="contrastkit.methods.SimCLR"' in methods
    assert (site / "benchmarks" / "index.html").is_file()  # BENCHMARKS.md is published
