"""A patient's visits table (CSV): read, check every cell, and turn into observations in days since onset.

One row per visit and measurement. Columns (header required, any order):

- time: ``days_since_onset`` (a number of days) or ``date`` (``YYYY-MM-DD``), one of the two;
- ``measure``: ``alsfrs_r`` (total, 0-48), ``cmap_amplitude`` (negative-peak amplitude, per
  muscle) or ``mune`` (per muscle, with ``method``);
- ``muscle``: a bank muscle for ``cmap_amplitude`` and ``mune``, empty for ``alsfrs_r``;
- ``method``: the MUNE method (``mps``, ``munix``, ``incremental``, ``scanfit``), empty otherwise;
- ``value`` and ``unit``: ``points`` for ``alsfrs_r``; ``mV`` or ``uV`` for ``cmap_amplitude``;
  ``units`` for ``mune``;
- optional, the same on every row where given: ``site_of_onset`` (``upper_limb``, ``lower_limb``,
  ``bulbar``), ``date_of_onset`` (``YYYY-MM-DD``), ``age_years`` (age at onset), ``sex``.

Rows must be in time order; a measurement repeated at the same time is refused. With ``date`` and
no ``date_of_onset`` the onset is unknown: times are then counted from the first visit and the fit
treats the delay from onset to the first visit as unknown. Every problem raises
``EndplateInputError`` naming the row (the file's line), the column and what is allowed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from endplate.errors import EndplateInputError
from endplate.io.csv_table import cell_number, csv_rows
from endplate.muscle.mune import METHODS
from endplate.spec import read_text

MAX_VISITS_BYTES = 1_000_000  # years of monthly visits in a few muscles are a few kB
MAX_ROWS = 5_000
TIME_COLUMNS = ("days_since_onset", "date")
REQUIRED = ("measure", "value", "unit")
OPTIONAL = ("muscle", "method", "site_of_onset", "date_of_onset", "age_years", "sex")
MEASURES = {"alsfrs_r": ("points",), "cmap_amplitude": ("mV", "uV"), "mune": ("units",)}
# Measures a clinic records that the model cannot produce: refused by name with the reason.
NOT_MODELLED = {
    "fvc": "forced vital capacity is not modelled (the model has diaphragm force but no lung volumes or chest wall)",
    "svc": "slow vital capacity is not modelled (no lung volumes)",
    "weight": "body weight is not modelled",
    "alsfrs_r_item": "single ALSFRS-R items are not modelled; give the total as alsfrs_r",
}
UNIT_FACTOR = {"points": 1.0, "mV": 1.0, "uV": 1e-3, "units": 1.0}
SITES = ("upper_limb", "lower_limb", "bulbar")
SEXES = ("female", "male")
ALSFRS_MAX = 48.0


@dataclass(frozen=True)
class Observation:
    """One measurement: ``day`` after onset (after the first visit if the onset is unknown)."""

    day: float
    measure: str
    muscle: str
    method: str
    value: float  # points, mV or units (uV converted to mV)
    row: int  # the file's line, for messages


@dataclass(frozen=True)
class Visits:
    """A checked visits table: its observations in time order and the patient's covariates."""

    observations: tuple[Observation, ...]
    onset_known: bool
    covariates: dict = field(default_factory=dict)  # site_of_onset, age_years, sex where given

    def series(self) -> dict[tuple[str, str, str], list[Observation]]:
        """Observations grouped by (measure, muscle, method), each group in time order."""
        out: dict[tuple[str, str, str], list[Observation]] = {}
        for o in self.observations:
            out.setdefault((o.measure, o.muscle, o.method), []).append(o)
        return out


def read_visits(path: Path, muscles: tuple[str, ...]) -> Visits:
    """The visits table at ``path``, checked against the bank's ``muscles``."""
    if not path.is_file():
        raise EndplateInputError(f"no visits file {str(path)!r}" + (" (it is a folder)" if path.is_dir() else ""))
    text, where = read_text(path, "visits", MAX_VISITS_BYTES)
    return parse_visits(text, where, muscles)


def parse_visits(text: str, where: str, muscles: tuple[str, ...]) -> Visits:
    """The visits table in ``text`` (``where`` names it in messages), checked against ``muscles``."""
    cells = csv_rows(text, where, "a visits table", MAX_ROWS, lambda header: _check_header(header, where))
    header = list(cells[0][1])
    covariates = _covariates(cells, where)
    onset_date = covariates.pop("date_of_onset", None)
    time_column = "days_since_onset" if "days_since_onset" in header else "date"
    observations = [_observation(line, c, time_column, onset_date, where, muscles) for line, c in cells]
    onset_known = time_column == "days_since_onset" or onset_date is not None
    if not onset_known:  # count from the first visit
        first = observations[0].day
        observations = [Observation(o.day - first, o.measure, o.muscle, o.method, o.value, o.row) for o in observations]
    _check_order(observations, where, time_column)
    return Visits(tuple(observations), onset_known, covariates)


def _check_header(header: list[str], where: str) -> None:
    allowed = TIME_COLUMNS + REQUIRED + OPTIONAL
    for h in header:
        if h not in allowed:
            raise EndplateInputError(f"{where}, row 1: unknown column {h!r}; allowed: {', '.join(allowed)}")
    times = [h for h in TIME_COLUMNS if h in header]
    if len(times) != 1:
        raise EndplateInputError(
            f"{where}, row 1: give exactly one time column, days_since_onset or date (YYYY-MM-DD); found {times or 'none'}"
        )
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise EndplateInputError(f"{where}, row 1: missing column {missing[0]!r}; required: {', '.join(REQUIRED)}")


def _date(value: str, line: int, column: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise EndplateInputError(f"{where}, row {line}, column {column}: {value!r} is not a date YYYY-MM-DD") from None


def _covariates(cells: list[tuple[int, dict]], where: str) -> dict:
    """The patient's covariates: each optional column must hold one value wherever it is filled."""
    out: dict = {}
    choices = {"site_of_onset": SITES, "sex": SEXES}
    for column in ("site_of_onset", "date_of_onset", "age_years", "sex"):
        seen = [(line, c[column]) for line, c in cells if c.get(column)]
        if not seen:
            continue
        line, first = seen[0]
        for other_line, v in seen:
            if v != first:
                raise EndplateInputError(
                    f"{where}, row {other_line}, column {column}: {v!r} differs from {first!r} (row {line}); "
                    "a patient has one value"
                )
        if column in choices and first not in choices[column]:
            raise EndplateInputError(f"{where}, row {line}, column {column}: {first!r}; allowed: {', '.join(choices[column])}")
        if column == "date_of_onset":
            out[column] = _date(first, line, column, where)
        elif column == "age_years":
            age = cell_number(first, line, column, where)
            if not 18 <= age <= 100:
                raise EndplateInputError(f"{where}, row {line}, column age_years: {first} must be between 18 and 100")
            out[column] = age
        else:
            out[column] = first
    return out


def _observation(
    line: int, c: dict, time_column: str, onset: dt.date | None, where: str, muscles: tuple[str, ...]
) -> Observation:
    raw = c[time_column]
    if not raw:
        raise EndplateInputError(f"{where}, row {line}, column {time_column}: empty")
    if time_column == "date":
        date = _date(raw, line, "date", where)
        day = float((date - onset).days) if onset is not None else float(date.toordinal())
    else:
        day = cell_number(raw, line, time_column, where)
    if day < 0:
        raise EndplateInputError(f"{where}, row {line}, column {time_column}: {raw!r} is before the onset")
    measure = c["measure"]
    if measure in NOT_MODELLED:
        raise EndplateInputError(
            f"{where}, row {line}, column measure: {measure!r}: {NOT_MODELLED[measure]}; allowed: {', '.join(MEASURES)}"
        )
    if measure not in MEASURES:
        raise EndplateInputError(
            f"{where}, row {line}, column measure: unknown measure {measure!r}; allowed: {', '.join(MEASURES)}"
        )
    unit = c["unit"]
    if unit not in MEASURES[measure]:
        raise EndplateInputError(
            f"{where}, row {line}, column unit: {unit!r} for {measure}; allowed: {', '.join(MEASURES[measure])}"
        )
    muscle, method = c.get("muscle", ""), c.get("method", "")
    if measure == "alsfrs_r":
        if muscle or method:
            raise EndplateInputError(f"{where}, row {line}: alsfrs_r takes no muscle or method (leave them empty)")
    elif muscle not in muscles:
        raise EndplateInputError(
            f"{where}, row {line}, column muscle: {'unknown muscle ' + repr(muscle) if muscle else 'empty'} for {measure}; "
            f"allowed: {', '.join(muscles)}"
        )
    if measure == "mune" and method not in METHODS:
        raise EndplateInputError(
            f"{where}, row {line}, column method: {'unknown method ' + repr(method) if method else 'empty'} for mune; "
            f"allowed: {', '.join(METHODS)}"
        )
    if measure == "cmap_amplitude" and method:
        raise EndplateInputError(f"{where}, row {line}, column method: cmap_amplitude takes no method (leave it empty)")
    value = cell_number(c["value"], line, "value", where) * UNIT_FACTOR[unit]
    if measure == "alsfrs_r" and not 0 <= value <= ALSFRS_MAX:
        raise EndplateInputError(f"{where}, row {line}, column value: ALSFRS-R total {c['value']} must lie in 0-48")
    if measure != "alsfrs_r" and value <= 0:
        raise EndplateInputError(f"{where}, row {line}, column value: {measure} must be positive, got {c['value']}")
    return Observation(day, measure, muscle, method, value, line)


def _check_order(observations: list[Observation], where: str, time_column: str) -> None:
    seen: dict[tuple, int] = {}
    for prev, o in zip(observations, observations[1:]):
        if o.day < prev.day:
            raise EndplateInputError(
                f"{where}, row {o.row}, column {time_column}: earlier than row {prev.row}; rows must be in time order"
            )
    for o in observations:
        key = (o.day, o.measure, o.muscle, o.method)
        if key in seen:
            raise EndplateInputError(
                f"{where}, row {o.row}: the same {o.measure}{' ' + o.muscle if o.muscle else ''} at the same time as row "
                f"{seen[key]}; give each measurement once per visit"
            )
        seen[key] = o.row
