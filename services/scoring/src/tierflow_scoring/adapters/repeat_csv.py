"""Repeat-trading statistics from a CSV file (columns frequency, recency, T), e.g. the CDNOW summary."""

from __future__ import annotations

import csv
from pathlib import Path


def read_repeat_statistics(path: Path) -> list[tuple[float, float, float]]:
    """(frequency, recency, T) of every row, in the file's time unit."""
    with path.open() as handle:
        return [(float(r["frequency"]), float(r["recency"]), float(r["T"])) for r in csv.DictReader(handle)]
