"""The bundled registry of literature values (targets.csv, literature.csv)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

REQUIRED_COLUMNS = ("id", "layer", "quantity", "value", "low", "high", "unit", "species", "evidence", "source")


@cache
def load_targets() -> dict[str, dict]:
    """All rows keyed by id: the shared targets and the literature values found for this project."""
    rows: dict[str, dict] = {}
    for name in ("targets.csv", "literature.csv"):
        text = resources.files("endplate.data").joinpath(name).read_text()
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{name} lacks column(s) {', '.join(missing)}")
        for row in reader:
            rows[row["id"]] = row
    return rows
