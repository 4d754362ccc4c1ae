"""CSV for people who open it in a spreadsheet: a cell that would run as a formula is kept as text."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = frozenset("=+-@\t\r")


def as_text(cell: str) -> str:
    return "'" + cell if cell[:1] in FORMULA_STARTS else cell


def csv_lines(header: Iterable[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text, a line at a time (for streaming), the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in itertools.chain([list(header)], rows):
        writer.writerow([as_text(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
