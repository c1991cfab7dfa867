"""The report page: one self-contained HTML file with inline CSS and images as data URIs.

Nothing is fetched when the page opens (no scripts, fonts or style sheets from elsewhere,
and an empty inline favicon so the browser does not ask for /favicon.ico), so the file
can be mailed or opened offline.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
  background: #f6f7f9; color: #1d2330; line-height: 1.45; }
header { background: #1d2330; color: #f6f7f9; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.5rem; }
header p { margin: 0; opacity: .85; }
nav { margin-top: .7rem; }
nav a { color: #9fc5ff; margin-right: 1rem; text-decoration: none; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 2rem 2rem 2rem; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px;
  padding: .8rem 1.2rem 1.2rem 1.2rem; margin: 1.2rem 0; }
section h2 { margin: .2rem 0 .6rem 0; font-size: 1.2rem; }
section img { max-width: 100%; height: auto; display: block; margin: .6rem 0; }
p.missing { color: #8a4b00; background: #fff6e5; border-left: 4px solid #f0a030;
  padding: .5rem .8rem; }
p.note { color: #4a5466; font-size: .92rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .93rem; }
th, td { border-bottom: 1px solid #dde1e7; padding: .3rem .7rem; text-align: left;
  vertical-align: top; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.same { background: #e3f4e3; }
td.different { background: #fbe4e4; }
footer { color: #6b7384; font-size: .85rem; text-align: center; padding-bottom: 1.5rem; }
"""


@dataclass
class Section:
    """One part of the report: an anchor id, a heading and HTML blocks.

    Attributes:
        id: the element id (also the anchor in the table of contents).
        title: the heading text.
        blocks: HTML fragments shown in order (paragraphs, images, tables).
        missing: when set, the sentence saying why the section has no data; it is shown
            after `blocks`.
    """

    id: str
    title: str
    blocks: list[str] = field(default_factory=list)
    missing: str | None = None

    def add(self, fragment: str) -> Section:
        """Append an HTML fragment; returns self for chaining."""
        self.blocks.append(fragment)
        return self


def esc(text: object) -> str:
    """HTML-escape any value's text (quotes included)."""
    return html.escape(str(text), quote=True)


def paragraph(text: str, css_class: str | None = None) -> str:
    """A <p> of escaped `text`."""
    attr = f' class="{css_class}"' if css_class else ""
    return f"<p{attr}>{esc(text)}</p>"


def image(png: bytes, alt: str) -> str:
    """An <img> whose source is the PNG itself, base64-encoded as a data URI."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    numeric: Sequence[bool] | None = None,
    bold: set[tuple[int, int]] | None = None,
    cell_classes: dict[tuple[int, int], str] | None = None,
) -> str:
    """An HTML table of escaped cells.

    Args:
        header: column titles.
        rows: cell values, one sequence per row, as long as `header`.
        numeric: per column, right-align it (default: no column).
        bold: (row, column) positions to emphasise.
        cell_classes: (row, column) -> CSS class ("same", "different").

    Returns:
        The <table> fragment.
    """
    numeric = list(numeric or [False] * len(header))
    bold = bold or set()
    cell_classes = cell_classes or {}
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            names = ("num" if numeric[c] else "", cell_classes.get((r, c), ""))
            attr = " ".join(name for name in names if name)
            text = f"<strong>{esc(value)}</strong>" if (r, c) in bold else esc(value)
            cells.append(f'<td class="{attr}">{text}</td>' if attr else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_page(title: str, subtitle: str, sections: Sequence[Section], footer: str) -> str:
    """The whole report as one HTML document.

    Args:
        title: the page title and top heading.
        subtitle: one line under the heading (method, dataset, budget).
        sections: the sections in order; each becomes a <section id=...> with an <h2>.
        footer: a line at the bottom (how and when the page was made).

    Returns:
        The HTML text (UTF-8, no external resources).
    """
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    parts = []
    for s in sections:
        body = "\n".join(s.blocks)
        if s.missing:
            body += "\n" + paragraph(s.missing, "missing")
        parts.append(f'<section id="{esc(s.id)}">\n<h2>{esc(s.title)}</h2>\n{body}\n</section>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header>\n<h1>{esc(title)}</h1>\n<p>{esc(subtitle)}</p>\n<nav>{nav}</nav>\n</header>\n"
        "<main>\n" + "\n".join(parts) + "\n</main>\n"
        f"<footer>{esc(footer)}</footer>\n</body>\n</html>\n"
    )
