"""The bundled registry of literature values (targets.csv, literature.csv)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

REQUIRED_COLUMNS = ("id", "layer", "quantity", "value", "low", "high", "unit", "species", "evidence", "role", "source")

# A target's role: ``fit`` rows may be used by calibration and hand-tuning; ``test`` rows measure
# prediction and nothing is tuned to them. The split is by source (all of a paper's numbers on one
# side) and was committed before any tuning against the split; see docs/calibration.md.
ROLES = ("fit", "test")


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
            if row["role"] not in ROLES:
                raise ValueError(f"{name}, row {row['id']}: role {row['role']!r} is not one of {', '.join(ROLES)}")
            rows[row["id"]] = row
    return rows
