"""A user's CSV table read at the boundary: rows as dicts keyed by the header, every line numbered.

The visits table of a patient and the cohort table of a mouse colony are read here; their own
modules then check each cell. Messages name the file and the row (the file's line; the header is
row 1), so that the user finds the cell.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable

from endplate.errors import EndplateInputError


def csv_rows(
    text: str, where: str, what: str, max_rows: int, check_header: Callable[[list[str]], None]
) -> list[tuple[int, dict]]:
    """``(line, {column: stripped cell})`` of every non-blank row of the CSV ``text``.

    ``what`` names the table in messages ("a visits table"); ``check_header`` receives the header
    (stripped names) and raises for unknown or missing columns. Empty text, NUL bytes (a binary
    file), invalid CSV, no rows, more than ``max_rows`` rows or a row with another number of cells
    than the header raise ``EndplateInputError``.
    """
    if not text.strip():
        raise EndplateInputError(f"{where}: empty; {what} needs a header and at least one row")
    if "\0" in text:
        raise EndplateInputError(f"{where}: not a CSV text file (it holds NUL bytes)")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise EndplateInputError(f"{where}: not valid CSV ({exc})") from None
    header = [h.strip() for h in rows[0]]
    check_header(header)
    if len(set(header)) != len(header):
        twice = next(h for h in header if header.count(h) > 1)
        raise EndplateInputError(f"{where}, row 1: column {twice!r} appears twice")
    body = [(i, r) for i, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]
    if not body:
        raise EndplateInputError(f"{where}: no rows under the header")
    if len(body) > max_rows:
        raise EndplateInputError(f"{where}: {len(body)} rows; at most {max_rows} are read")
    out = []
    for line, r in body:
        if len(r) != len(header):
            raise EndplateInputError(f"{where}, row {line}: {len(r)} cells; the header has {len(header)} columns")
        out.append((line, {h: c.strip() for h, c in zip(header, r)}))
    return out


def cell_number(raw: str, line: int, column: str, where: str) -> float:
    """The finite number in one cell, or EndplateInputError naming the row and column."""
    try:
        x = float(raw)
    except ValueError:
        raise EndplateInputError(f"{where}, row {line}, column {column}: {raw!r} is not a number") from None
    if not math.isfinite(x):
        raise EndplateInputError(f"{where}, row {line}, column {column}: {raw!r} is not a finite number")
    return x
