"""The target registry: published numbers a fit compares with, each with how it was measured.

``data/calibration_targets.csv`` holds one row per target: value, spread (the scale on which a
miss is judged; wide for recalled values), units, species, strain, muscle, age, source, evidence
flag, and the observation model (``calibrate.observation``) with its count of measured items.
Row ids are the ids of ``data/targets.csv`` where the number comes from there.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from endplate.calibrate.observation import Observation, observation
from endplate.errors import EndplateInputError
from endplate.spec import read_text

COLUMNS = (
    "id",
    "problem",
    "quantity",
    "value",
    "spread",
    "units",
    "species",
    "strain",
    "muscle",
    "age_days",
    "observation",
    "count",
    "source",
    "evidence",
)
EVIDENCE = ("read", "recalled", "secondary", "assumed")


@dataclass(frozen=True)
class Target:
    id: str
    problem: str
    quantity: str
    value: float  # NaN for a synthetic target, filled from the known truth
    spread: float
    units: str
    species: str
    strain: str
    muscles: tuple[str, ...]
    age_days: float
    observation: Observation
    source: str
    evidence: str
    note: str = ""


def _number(where: str, column: str, raw: str, allow_empty: bool = False) -> float:
    if raw.strip() == "" and allow_empty:
        return math.nan
    try:
        return float(raw)
    except ValueError:
        raise EndplateInputError(f"{where}: column {column!r} must be a number, got {raw!r}") from None


def load_registry(path: str | Path | None = None, problem: str | None = None) -> list[Target]:
    """Targets from ``path`` (default: the bundled registry), optionally only those of ``problem``.

    Rows whose ``role`` is ``test`` are held out and skipped (a file without the column is all
    ``fit``). A missing column, a non-numeric value or spread, an unknown evidence flag, role or
    observation model raises ``EndplateInputError`` naming the file, the row and what is allowed.
    """
    if path is None:
        where, text = (
            "bundled calibration_targets.csv",
            resources.files("endplate.data").joinpath("calibration_targets.csv").read_text(),
        )
    else:
        p = Path(path)
        if not p.is_file():
            raise EndplateInputError(f"no target file {str(p)!r}")
        text, where = read_text(p, "target", limit=50_000_000)
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise EndplateInputError(f"{where} lacks column(s) {', '.join(missing)}; required: {', '.join(COLUMNS)}")
    targets = []
    for i, row in enumerate(reader, 2):
        if problem is not None and row["problem"] != problem:
            continue
        at = f"{where}, line {i} ({row['id']})"
        role = row.get("role") or "fit"
        if role not in ("fit", "test"):
            raise EndplateInputError(f"{at}: role must be fit or test, got {role!r}")
        if role == "test":
            continue  # held out: a fit never sees a test row
        if row["evidence"] not in EVIDENCE:
            raise EndplateInputError(f"{at}: evidence must be one of {', '.join(EVIDENCE)}, got {row['evidence']!r}")
        spread = _number(at, "spread", row["spread"])
        if not spread > 0:
            raise EndplateInputError(f"{at}: spread must be positive, got {spread}")
        muscles = tuple(m for m in row["muscle"].split(";") if m)
        day = _number(at, "age_days", row["age_days"], allow_empty=True)
        count = int(_number(at, "count", row["count"] or "0"))
        try:
            obs = observation(row["observation"], muscles, day, count)
        except EndplateInputError as exc:
            raise EndplateInputError(f"{at}: {exc}") from None
        targets.append(
            Target(
                id=row["id"],
                problem=row["problem"],
                quantity=row["quantity"],
                value=_number(at, "value", row["value"], allow_empty=True),
                spread=spread,
                units=row["units"],
                species=row["species"],
                strain=row["strain"],
                muscles=muscles,
                age_days=day,
                observation=obs,
                source=row["source"],
                evidence=row["evidence"],
                note=row.get("note", "") or "",
            )
        )
    return targets
