"""metrics.csv: one row per log event; new columns extend the header."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


class CsvLog:
    """Append rows (dicts) to a CSV file, keeping the union of all keys as columns.

    A row with a key not seen before rewrites the file once with the wider header; rows
    that lack a column leave it empty. Reopening an existing file (a resumed run) keeps
    its rows and header.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.columns: list[str] = []
        if self.path.is_file():
            with self.path.open(newline="") as f:
                self.columns = next(csv.reader(f), [])

    def append(self, row: dict[str, Any]) -> None:
        new = [k for k in row if k not in self.columns]
        if new:
            old_rows = self.read() if self.path.is_file() else []
            self.columns += new
            with self.path.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.columns)
                writer.writeheader()
                writer.writerows(old_rows)
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.columns).writerow(
                {k: _fmt(v) for k, v in row.items()}
            )

    def read(self) -> list[dict[str, str]]:
        with self.path.open(newline="") as f:
            return list(csv.DictReader(f))

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after `step` (a resumed run repeats the steps after its checkpoint)."""
        if not self.path.is_file():
            return
        rows = [r for r in self.read() if not r.get("step") or int(r["step"]) <= step]
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(rows)


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
