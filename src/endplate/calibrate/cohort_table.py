"""A mouse cohort's measurements (CSV) as calibration targets, each with its observation model.

Columns (header required, any order): ``strain`` (``B6SJL`` or ``C57BL6``, SOD1-G93A on that
background; one strain per table), ``sex`` (``female``, ``male`` or ``mixed``), ``age_days`` (empty for
onset and survival), ``muscle`` (a mouse muscle; empty for onset and survival), ``measure``, ``value`` (the cohort
mean), ``sd`` (between-animal SD, positive) and ``n`` (animals). Measures and their observation
models (``calibrate.observation.KINDS``):

==============================  =================================  ==========================
measure                         unit                               observation model
==============================  =================================  ==========================
``innervated_endplates_percent`` % of endplates fully or partly      ``endplates_innervated``
                                 innervated
``motor_neurons_percent``        % of wild-type motor neurons        ``motor_neurons_retained``
``cmap_percent``                 % of wild-type CMAP amplitude       ``cmap_percent``
``mune``                         motor units (the scenario's MUNE    ``mune_units``
                                 method)
``force_percent``                % of wild-type tetanic force        ``force_percent``
``onset_age_days``               days of age                         ``onset_day``
``survival_age_days``            days of age                         ``survival_day``
==============================  =================================  ==========================

The ``sd`` is the scale on which the fit judges a miss: one simulated animal is compared with the
cohort mean, so the between-animal SD, not the standard error, is the right scale. Every problem
raises ``EndplateInputError`` naming the row (the file's line), the column and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from endplate.calibrate.observation import observation
from endplate.calibrate.registry import Target
from endplate.errors import EndplateInputError
from endplate.io.csv_table import cell_number, csv_rows
from endplate.spec import read_text

COLUMNS = ("strain", "sex", "age_days", "muscle", "measure", "value", "sd", "n")
STRAINS = {"B6SJL": "sod1-g93a", "C57BL6": "sod1-g93a-c57bl6"}  # strain -> bundled scenario
SEXES = ("female", "male", "mixed")
# measure -> (observation kind, unit, takes a muscle, allowed value range)
MEASURES = {
    "innervated_endplates_percent": ("endplates_innervated", "%", True, (0.0, 100.0)),
    "motor_neurons_percent": ("motor_neurons_retained", "% of wild-type", True, (0.0, 150.0)),
    "cmap_percent": ("cmap_percent", "% of wild-type", True, (0.0, 200.0)),
    "mune": ("mune_units", "motor units", True, (0.0, 10_000.0)),
    "force_percent": ("force_percent", "% of wild-type", True, (0.0, 200.0)),
    "onset_age_days": ("onset_day", "days", False, (1.0, 1000.0)),
    "survival_age_days": ("survival_day", "days", False, (1.0, 1000.0)),
}
NOT_MODELLED = {
    "cmap_mv": "CMAP in mV depends on the recording set-up; give cmap_percent of wild-type littermates",
    "force_g": "force in grams depends on the muscle's size; give force_percent of wild-type littermates",
    "grip_strength": "grip strength is not modelled (no whole-limb behaviour)",
    "rotarod": "rotarod performance is not modelled (no behaviour)",
    "body_weight": "body weight is not modelled",
    "jitter_us": "a cohort's jitter is not fitted here (use endplate protocol sfemg)",
}
MAX_TABLE_BYTES = 1_000_000
MAX_ROWS = 500


@dataclass(frozen=True)
class CohortRow:
    """One checked row of the table."""

    line: int
    strain: str
    sex: str
    age_days: float
    muscle: str
    measure: str
    value: float
    sd: float
    n: int


def read_cohort_table(path: Path, muscles: tuple[str, ...]) -> list[CohortRow]:
    """The table at ``path``, checked against the mouse ``muscles``."""
    if not path.is_file():
        raise EndplateInputError(f"no cohort table {str(path)!r}" + (" (it is a folder)" if path.is_dir() else ""))
    text, where = read_text(path, "cohort table", MAX_TABLE_BYTES)
    return parse_cohort_table(text, where, muscles)


def parse_cohort_table(text: str, where: str, muscles: tuple[str, ...]) -> list[CohortRow]:
    """The rows of the cohort table in ``text``; one strain, every cell checked."""
    cells = csv_rows(text, where, "a cohort table", MAX_ROWS, lambda header: _check_header(header, where))
    out = [_row(line, c, where, muscles) for line, c in cells]
    strains = sorted({r.strain for r in out})
    if len(strains) > 1:
        raise EndplateInputError(f"{where}: strains {', '.join(strains)} in one table; fit one strain at a time")
    seen: dict[tuple, int] = {}
    for row in out:
        key = (row.sex, row.age_days, row.muscle, row.measure)
        if key in seen:
            raise EndplateInputError(f"{where}, row {row.line}: the same measure, muscle, sex and age as row {seen[key]}")
        seen[key] = row.line
    return out


def _check_header(header: list[str], where: str) -> None:
    for h in header:
        if h not in COLUMNS:
            raise EndplateInputError(f"{where}, row 1: unknown column {h!r}; allowed: {', '.join(COLUMNS)}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise EndplateInputError(f"{where}, row 1: missing column {missing[0]!r}; required: {', '.join(COLUMNS)}")


def _row(line: int, c: dict, where: str, muscles: tuple[str, ...]) -> CohortRow:
    at = f"{where}, row {line}"
    if c["strain"] not in STRAINS:
        raise EndplateInputError(f"{at}, column strain: {c['strain']!r}; allowed: {', '.join(STRAINS)}")
    if c["sex"] not in SEXES:
        raise EndplateInputError(f"{at}, column sex: {c['sex']!r}; allowed: {', '.join(SEXES)}")
    measure = c["measure"]
    if measure in NOT_MODELLED:
        raise EndplateInputError(f"{at}, column measure: {measure!r}: {NOT_MODELLED[measure]}; allowed: {', '.join(MEASURES)}")
    if measure not in MEASURES:
        raise EndplateInputError(f"{at}, column measure: unknown measure {measure!r}; allowed: {', '.join(MEASURES)}")
    _, _, per_muscle, (low, high) = MEASURES[measure]
    muscle = c["muscle"]
    if per_muscle and muscle not in muscles:
        what = f"unknown muscle {muscle!r}" if muscle else "empty"
        raise EndplateInputError(f"{at}, column muscle: {what} for {measure}; allowed: {', '.join(muscles)}")
    if not per_muscle and muscle:
        raise EndplateInputError(f"{at}, column muscle: {measure} is an event of the whole animal; leave muscle empty")
    if not per_muscle and not c["age_days"]:
        age = math.nan  # an event's age is its value
    elif not 20 <= (age := cell_number(c["age_days"], line, "age_days", where)) <= 1000:
        raise EndplateInputError(f"{at}, column age_days: {c['age_days']} must be between 20 (weaning) and 1000")
    value = cell_number(c["value"], line, "value", where)
    if not low <= value <= high:
        raise EndplateInputError(f"{at}, column value: {measure} must lie in {low:g}-{high:g}, got {c['value']}")
    sd = cell_number(c["sd"], line, "sd", where)
    if sd <= 0:
        raise EndplateInputError(f"{at}, column sd: must be positive, got {c['sd']}")
    n = cell_number(c["n"], line, "n", where)
    if n < 1 or n != int(n):
        raise EndplateInputError(f"{at}, column n: a whole number of animals, at least 1, got {c['n']}")
    return CohortRow(line, c["strain"], c["sex"], age, muscle, measure, value, sd, int(n))


def row_target(row: CohortRow, target_id: str, problem: str = "cohort") -> Target:
    """The calibration target of one row: its observation model at its age and muscle."""
    kind, unit, _, _ = MEASURES[row.measure]
    muscles = (row.muscle,) if row.muscle else ()
    age = row.age_days if kind not in ("onset_day", "survival_day") else math.nan
    return Target(
        id=target_id,
        problem=problem,
        quantity=row.measure,
        value=row.value,
        spread=row.sd,
        units=unit,
        species="mouse",
        strain=row.strain,
        muscles=muscles,
        age_days=row.age_days,
        observation=observation(kind, muscles, age),
        source="user table",
        evidence="read",
        note=f"row {row.line}, n = {row.n}, sex {row.sex}",
    )
