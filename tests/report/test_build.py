"""The HTML report of small synthetic run folders: every section, images inlined as PNG
data URIs, nothing fetched from elsewhere, and a sentence for every section without data."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from contrastkit.cli_report import register
from contrastkit.errors import ContrastkitError
from contrastkit.pipeline.runs import write_config
from contrastkit.pipeline.settings import read_run_config
from contrastkit.report import FIGURE_DIR, REPORT_FILE, SECTION_IDS, build_report, report_hint

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Fast settings for tests: PCA instead of t-SNE, few points.
FAST = {"points": 120, "bank": 400, "queries": 4, "k": 5, "projection": "pca"}


class _Page(HTMLParser):
    """Collects sections (id -> text and classes seen inside), images and links."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current: str | None = None
        self.images: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "section":
            self.current = a.get("id")
            self.sections[self.current] = {"text": "", "classes": [], "images": 0, "tables": 0}
        if self.current is not None:
            section = self.sections[self.current]
            section["classes"].append(a.get("class", ""))
            section["images"] += tag == "img"
            section["tables"] += tag == "table"
        if tag == "img":
            self.images.append(a)
        for key in ("src", "href"):
            if key in a:
                self.urls.append(a[key])

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.sections[self.current]["text"] += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _missing(page: _Page, section_id: str) -> bool:
    return "missing" in page.sections[section_id]["classes"]


def test_full_image_run_has_every_section_with_inline_pngs(image_run: Path) -> None:
    path = build_report(image_run, **FAST)
    assert path == image_run / REPORT_FILE
    page = _parse(path)
    assert list(page.sections) == list(SECTION_IDS)
    assert len(page.ids) == len(set(page.ids)), "element ids must be unique"
    for section_id, section in page.sections.items():
        assert not _missing(page, section_id), f"{section_id}: {section['text']}"
    for section_id in ("loss-lr", "knn", "collapse", "embedding-map", "neighbours"):
        assert page.sections[section_id]["images"] == 1, section_id
    assert page.sections["evaluation"]["tables"] == 1
    assert len(page.images) == 5
    for img in page.images:
        head, _, data = img["src"].partition(",")
        assert head == "data:image/png;base64"
        assert base64.b64decode(data).startswith(PNG_MAGIC)
        assert img["alt"]
    # Only in-page anchors and inline data: the page opens offline.
    for url in page.urls:
        assert url.startswith(("#", "data:")), url
    text = path.read_text()
    assert not re.search(r"https?://|<script|@import|url\(", text)
    figures = sorted(p.name for p in (image_run / FIGURE_DIR).iterdir())
    assert figures == [
        "collapse.png",
        "embedding_map.png",
        "knn.png",
        "loss_lr.png",
        "neighbours.png",
    ]
    for png in (image_run / FIGURE_DIR).iterdir():
        assert png.read_bytes().startswith(PNG_MAGIC)


def test_sections_show_the_runs_numbers(image_run: Path) -> None:
    page = _parse(build_report(image_run, **FAST))
    evaluation = page.sections["evaluation"]["text"]
    assert "contrastkit simclr" in evaluation and "raw pixels" in evaluation
    assert "0.900" in evaluation and "0.950" in evaluation
    assert "seconds" not in evaluation  # timings are not scores
    assert "2 checks" in page.sections["knn"]["text"]
    assert "digits" in page.sections["overview"]["text"]
    neighbours = page.sections["neighbours"]["text"]
    assert "Top-5 neighbours" in neighbours and "400 sampled" in neighbours
    assert "PCA of 120 test items" in page.sections["embedding-map"]["text"]


def test_null_score_is_shown_as_na(image_run: Path) -> None:
    """eval.json writes an undefined score as null with a reason (e.g. TF-IDF's Spearman
    on word pairs, whose cosines are all 0); the table shows n/a and keeps the rest."""
    path = image_run / "eval.json"
    record = json.loads(path.read_text())
    null = {"system": "TF-IDF", "metric": "knn_top1", "value": None, "value_reason": "nan"}
    record["rows"].append(null)
    path.write_text(json.dumps(record))
    evaluation = _parse(build_report(image_run, **FAST)).sections["evaluation"]["text"]
    assert "TF-IDF" in evaluation and "n/a" in evaluation and "0.900" in evaluation


def test_missing_data_is_explained_not_fatal(bare_run: Path) -> None:
    page = _parse(build_report(bare_run, evaluate=False, **FAST))
    assert list(page.sections) == list(SECTION_IDS)
    assert page.sections["loss-lr"]["images"] == 1
    for section_id in ("overview", "knn", "collapse", "embedding-map", "neighbours", "evaluation"):
        assert _missing(page, section_id), section_id
    assert "knn_top1" in page.sections["knn"]["text"]
    assert "rep_std" in page.sections["collapse"]["text"]
    assert "encoder.safetensors" in page.sections["embedding-map"]["text"]
    assert "--no-evaluate" in page.sections["evaluation"]["text"]


def test_evaluates_when_eval_json_is_missing(image_run: Path) -> None:
    (image_run / "eval.json").unlink()
    cfg = read_run_config(image_run)
    cfg.eval.linear = False  # the report follows the run's eval settings; kNN is enough here
    write_config(image_run, cfg)
    page = _parse(build_report(image_run, evaluate=True, **FAST))
    assert (image_run / "eval.json").is_file()
    records = json.loads((image_run / "eval.json").read_text())["rows"]
    assert {r["system"] for r in records} >= {"raw pixels", "random-init encoder"}
    assert not _missing(page, "evaluation")
    assert "random-init encoder" in page.sections["evaluation"]["text"]


def test_points_zero_skips_map_and_neighbours(image_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "r.html"
    page = _parse(build_report(image_run, out, **(FAST | {"points": 0})))
    assert out.is_file() and not (image_run / REPORT_FILE).exists()
    assert _missing(page, "embedding-map") and _missing(page, "neighbours")
    assert "--points 0" in page.sections["neighbours"]["text"]


def test_text_run_curves_neighbour_table_and_retrieval_scores(text_run: Path) -> None:
    page = _parse(build_report(text_run, points=40, bank=20, queries=3, k=4, projection="pca"))
    assert list(page.sections) == list(SECTION_IDS)
    assert page.sections["loss-lr"]["images"] == 1
    assert _missing(page, "knn") and "text runs have no monitor" in page.sections["knn"]["text"]
    assert page.sections["embedding-map"]["images"] == 1
    neighbours = page.sections["neighbours"]
    assert neighbours["tables"] == 1 and not _missing(page, "neighbours")
    assert "seen in picture" in neighbours["text"] or "a photo of a" in neighbours["text"]
    evaluation = page.sections["evaluation"]["text"]
    assert "TF-IDF" in evaluation and "0.300" in evaluation


def test_text_run_without_model_explains(text_run: Path) -> None:
    import shutil

    shutil.rmtree(text_run / "model")
    page = _parse(build_report(text_run, projection="pca"))
    assert _missing(page, "neighbours") and "model/" in page.sections["neighbours"]["text"]


def test_text_is_escaped(image_run: Path) -> None:
    records = [{"system": "<b>evil</b> & co", "metric": "knn_top1", "value": 0.5}]
    (image_run / "eval.json").write_text(json.dumps({"rows": records}))
    text = build_report(image_run, points=0).read_text()
    assert "<b>evil</b>" not in text and "&lt;b&gt;evil&lt;/b&gt; &amp; co" in text


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"k": 0}, "-k"),
        ({"points": -1}, "--points"),
        ({"projection": "mds"}, "--projection"),
    ],
)
def test_bad_options_are_one_sentence_errors(image_run: Path, options: dict, match: str) -> None:
    with pytest.raises(ContrastkitError, match=match):
        build_report(image_run, **options)


def test_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(ContrastkitError, match="not a contrastkit run folder"):
        build_report(tmp_path)
    with pytest.raises(ContrastkitError, match="does not exist"):
        build_report(tmp_path / "nope")


def test_report_hint(image_run: Path) -> None:
    assert "contrastkit report" in report_hint(image_run)
    build_report(image_run, points=0)
    assert report_hint(image_run) == f"report: {image_run / REPORT_FILE}"


def test_command(image_run: Path) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    result = CliRunner().invoke(
        app, ["report", str(image_run), "--points", "50", "--projection", "pca", "-k", "3"]
    )
    assert result.exit_code == 0, result.output
    assert f"written: {image_run / REPORT_FILE}" in result.output
    assert (image_run / REPORT_FILE).is_file()
