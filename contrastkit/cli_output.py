"""What every command shares in its output: `--json` (one JSON document on stdout, every
notice on stderr), row tables, and the `--progress/--no-progress` switch.

Conventions: scores and shares are fractions in [0, 1] in tables (three decimals) and in
JSON; progress bars and notices go to stderr, so stdout holds only the table or the JSON.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from contrastkit.errors import ContrastkitError
from contrastkit.files import finite_json

Opt = typer.Option

JSON_HELP = "print one JSON document on stdout instead of the table (notices go to stderr)"
DEVICE_HELP = "where the encoder runs: auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps"
PROGRESS_HELP = (
    "progress bars on stderr: --progress draws them even in a log file, --no-progress never "
    "(default: on a terminal)"
)
AsJson = Annotated[bool, Opt("--json", help=JSON_HELP)]
Progress = Annotated[bool | None, Opt("--progress/--no-progress", help=PROGRESS_HELP)]


def print_json(document: Any) -> None:
    """`document` as strict JSON on stdout (NaN and infinities become null)."""
    typer.echo(json.dumps(finite_json(document), indent=1, allow_nan=False, default=str))


def notice(text: str, as_json: bool) -> None:
    """A line for the user: on stdout beside a table, on stderr beside JSON."""
    typer.echo(text, err=as_json)


def show_rows(rows: list[dict[str, Any]], as_json: bool, width: int = 70) -> None:
    """Rows as a JSON list or as an aligned table (long texts cut to `width` characters)."""
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("(no rows)")
        return
    fields = list(dict.fromkeys(key for row in rows for key in row))

    def cell(value: Any) -> str:
        text = str(value).replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[cell(row.get(f, "")) for f in fields] for row in rows]
    widths = [max(len(f), *(len(c[i]) for c in cells)) for i, f in enumerate(fields)]
    typer.echo("  ".join(f.ljust(w) for f, w in zip(fields, widths, strict=True)))
    for c in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


def one_spelling(flag: str, value: Any, old_flag: str, old_value: Any) -> Any:
    """The value of `flag` or of its old spelling `old_flag` (hidden alias); both given
    with different values is one sentence naming them."""
    if value is not None and old_value is not None and value != old_value:
        raise ContrastkitError(
            f"{flag} {value} and {old_flag} {old_value} (its old name) differ; give it once, "
            f"with {flag.split('/')[-1]}"
        )
    return value if value is not None else old_value
