"""The benchmarks' record of competing load: CPU used by other processes is seen."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.common import load_snapshot, machine_load, print_table, run_cli


def test_a_competing_process_is_measured_and_marked() -> None:
    start = load_snapshot()
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(2.0)
        load = machine_load(start)
    finally:
        burner.kill()
        burner.wait()
    # one busy core of the machine's cores (less its start-up); not waited for: "other"
    assert load["other_cpu_share"] > 0.5 / (os.cpu_count() or 1)
    assert load["competing_load"] is True
    assert set(load) >= {"wall_seconds", "loadavg_start", "loadavg_end"}


def test_print_table_aligns_rows_and_prints_a_header_when_there_are_none(capsys) -> None:
    print_table([{"system": "contrastkit", "value": 0.5}, {"system": "raw"}], ["system", "value"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "system      | value"
    assert lines[2] == "contrastkit | 0.500"
    assert lines[3].rstrip() == "raw         |"
    print_table([], ["dataset", "value"])
    assert capsys.readouterr().out.splitlines() == ["dataset | value", "--------+------"]


def test_run_cli_runs_this_checkouts_package_not_another_on_the_path(tmp_path) -> None:
    # an impostor package in the working folder and on PYTHONPATH, as a stale editable
    # install or another checkout would be: the benchmark's own tree must still win
    fake = tmp_path / "contrastkit"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "cli.py").write_text("def main():\n    print('impostor')\n")
    done = run_cli(["--help"], capture_output=True, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "impostor" not in done.stdout and "tune-views" in done.stdout
    assert "Usage: contrastkit " in done.stdout  # the tool's name, not "-c"
