"""Publish BENCHMARKS.md (the measured tables, commands and dates) as benchmarks.md.

Run by mkdocs-gen-files at build time, so the site and the repository never disagree.
"""

from __future__ import annotations

from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent

with mkdocs_gen_files.open("benchmarks.md", "w") as f:
    f.write((ROOT / "BENCHMARKS.md").read_text(encoding="utf-8"))
mkdocs_gen_files.set_edit_path("benchmarks.md", "../BENCHMARKS.md")
