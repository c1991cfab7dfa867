"""Write the command-line reference (reference/cli.md) from the commands themselves.

Run by mkdocs-gen-files at build time. One subprocess imports the typer app and asks
every command for its `--help` (typer's CliRunner, rich output off, 100 columns), so
the page is whatever the installed commands say, never a hand-made copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent

HELP_DUMP = """
import json, sys
from typer.main import get_command
from typer.testing import CliRunner
from contrastkit.cli import app

runner = CliRunner()
group = get_command(app)
names = list(group.commands)
out = {"": runner.invoke(app, ["--help"], prog_name="contrastkit").output}
for name in names:
    result = runner.invoke(app, [name, "--help"], prog_name="contrastkit")
    if result.exit_code != 0:
        sys.exit(f"contrastkit {name} --help failed: {result.output}")
    out[name] = result.output
print(json.dumps({"order": names, "help": out}))
"""


def command_help() -> tuple[list[str], dict[str, str]]:
    """Every command's `--help` text, from this checkout's `contrastkit.cli`."""
    env = dict(os.environ)
    env.update(
        TYPER_USE_RICH="0",  # plain click-style help: no boxes, no colour
        COLUMNS="100",
        TERMINAL_WIDTH="100",
        NO_COLOR="1",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    done = subprocess.run(
        [sys.executable, "-c", HELP_DUMP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"could not read the commands' help:\n{done.stderr}")
    data = json.loads(done.stdout)
    return data["order"], data["help"]


def summary(text: str) -> str:
    """The first paragraph after the usage line, on one line."""
    paragraphs = [p.strip() for p in text.split("\n\n")]
    return " ".join(paragraphs[1].split()) if len(paragraphs) > 1 else ""


def page(order: list[str], helps: dict[str, str]) -> str:
    lines = [
        "# Command line",
        "",
        "Generated at build time from `contrastkit <command> --help` (docs/gen_cli.py); "
        "the commands' own help is the source.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    lines += [f"| [`{name}`](#{name}) | {summary(helps[name])} |" for name in order]
    lines += ["", "## contrastkit", "", "```text", helps[""].rstrip(), "```", ""]
    for name in order:
        lines += [f"## {name}", "", "```text", helps[name].rstrip(), "```", ""]
    return "\n".join(lines)


order, helps = command_help()
with mkdocs_gen_files.open("reference/cli.md", "w") as f:
    f.write(page(order, helps))
mkdocs_gen_files.set_edit_path("reference/cli.md", "gen_cli.py")
