"""Run reports: one self-contained HTML page with the curves, maps, neighbours and scores
of a training run (`contrastkit report RUN_DIR`)."""

from __future__ import annotations

from contrastkit.report.build import FIGURE_DIR, REPORT_FILE, build_report, report_hint
from contrastkit.report.sections import SECTION_IDS

__all__ = ["FIGURE_DIR", "REPORT_FILE", "SECTION_IDS", "build_report", "report_hint"]
