"""The benchmarks' record of competing load: CPU used by other processes is seen."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.common import load_snapshot, machine_load, print_table


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
