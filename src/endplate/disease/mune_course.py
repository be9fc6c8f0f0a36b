"""MUNE through the disease: every method scored against the true count of functioning units.

Each simulated subject (a mouse or a patient: one muscle of the genotype's bundled scenario,
its own seed) is recorded by every method on each of the days asked, as a clinic follows a
cohort. A method's error on a recording is its estimate over the true count, minus 1; the bias
of a method at a stage is the mean error over the subjects and the spread its standard
deviation. An estimate the recording cannot give is counted apart (``undefined``), never as 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from endplate.disease.diseased_muscle import muscles_on_days, one_muscle_scenario
from endplate.muscle.mune import METHODS, mune
from endplate.seeding import substreams

MAX_SCENARIO_SEED = 2**31


def mune_recordings(
    genotype: str,
    hypothesis: str,
    muscle: str,
    days,
    subjects: int = 3,
    seed: int = 0,
    methods=METHODS,
    species: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    **changes,
) -> list[dict]:
    """One row per subject, day and method: ``estimate`` (None where undefined), ``true_units``, ``error``.

    ``error`` is estimate / true - 1 (None when either is undefined or zero units remain).
    ``changes`` go to the scenario (e.g. ``muscle_set`` for a smaller muscle).
    """
    rows = []
    for i, scenario_seed in enumerate(_subject_seeds(seed, subjects)):
        sc = one_muscle_scenario(genotype, hypothesis, muscle, scenario_seed, species, **changes)
        rows += _record(sc, muscle, days, methods, subject=i)
        if progress:
            progress(i + 1, subjects)
    return rows


def _subject_seeds(seed: int, subjects: int) -> list[int]:
    """Scenario seeds of ``subjects`` simulated subjects, each its own sub-stream of ``seed``."""
    return [s % MAX_SCENARIO_SEED for s in substreams(seed, *[f"subject{i}" for i in range(subjects)]).values()]


def _record(sc, muscle: str, days, methods, **labels) -> list[dict]:
    """Every method on ``muscle`` of ``sc`` on each of ``days``; each day and method its own readout stream."""
    rows = []
    for day, anatomy in sorted(muscles_on_days(sc, muscle, days).items()):
        readout_seeds = substreams(sc.seed, *[f"mune-day{day}-{m}" for m in methods])
        for m in methods:
            r = mune(anatomy, m, readout_seeds[f"mune-day{day}-{m}"])
            error = r["estimate"] / r["true_units"] - 1 if r["estimate"] is not None and r["true_units"] else None
            rows.append(
                {
                    **labels,
                    "day": int(day),
                    "method": m,
                    "estimate": r["estimate"],
                    "estimate_undefined_reason": r.get("estimate_undefined_reason"),
                    "true_units": r["true_units"],
                    "error": error,
                }
            )
    return rows


DAYS_PER_MONTH = 30.44


def mune_after_onset(
    genotype: str,
    hypothesis: str,
    muscle: str,
    months=(0, 4, 8),
    subjects: int = 1,
    seed: int = 0,
    methods=METHODS,
    species: str | None = None,
) -> list[dict]:
    """Serial MUNE from the muscle's onset (force below the scenario's onset fraction), as a clinic
    follows patients from diagnosis: rows as ``mune_recordings`` with ``month`` after onset.

    A subject whose muscle never reaches onset, or whose last visit falls after the course's
    end, is left out (its onset is censored).
    """
    from endplate.disease.simulate import simulate

    rows = []
    for i, scenario_seed in enumerate(_subject_seeds(seed, subjects)):
        sc = one_muscle_scenario(genotype, hypothesis, muscle, scenario_seed, species)
        onset = simulate(sc).onset_day
        if onset is None or onset + months[-1] * DAYS_PER_MONTH > sc.end_day:
            continue
        days = {int(round(onset + m * DAYS_PER_MONTH)): m for m in months}
        rows += [{**r, "month": days[r["day"]]} for r in _record(sc, muscle, list(days), methods, subject=i)]
    return rows


def decline_percent_per_month(rows: list[dict], method: str) -> float | None:
    """Mean over subjects of the fall of ``method``'s estimate from the first to the last visit,
    in percent of the first per month (None when no subject has both estimates)."""
    declines = []
    for subject in {r["subject"] for r in rows}:
        visits = sorted((r["month"], r["estimate"]) for r in rows if r["subject"] == subject and r["method"] == method)
        (m0, first), (m1, last) = visits[0], visits[-1]
        if first and last is not None and m1 > m0:
            declines.append(100.0 * (1.0 - last / first) / (m1 - m0))
    return float(np.mean(declines)) if declines else None


def mune_table(rows: list[dict]) -> list[dict]:
    """Per day and method: mean true count and estimate, bias and spread of the error (percent).

    ``bias_percent`` / ``spread_percent`` are None (with the reason) when no recording of that
    day and method gave an estimate; ``undefined`` counts the recordings without one.
    """
    table = []
    for day in sorted({r["day"] for r in rows}):
        for m in dict.fromkeys(r["method"] for r in rows):
            cell = [r for r in rows if r["day"] == day and r["method"] == m]
            errors = np.array([r["error"] for r in cell if r["error"] is not None], float)
            estimates = np.array([r["estimate"] for r in cell if r["estimate"] is not None], float)
            entry = {
                "day": day,
                "method": m,
                "subjects": len(cell),
                "undefined": len(cell) - errors.size,
                "true_units_mean": float(np.mean([r["true_units"] for r in cell])),
            }
            if errors.size:
                entry.update(
                    estimate_mean=float(estimates.mean()),
                    bias_percent=float(100 * errors.mean()),
                    spread_percent=float(100 * errors.std(ddof=1)) if errors.size > 1 else 0.0,
                )
            else:
                reason = next(
                    (r["estimate_undefined_reason"] for r in cell if r["estimate_undefined_reason"]), "no functioning unit left"
                )
                for key in ("estimate_mean", "bias_percent", "spread_percent"):
                    entry.update({key: None, f"{key}_undefined_reason": reason})
            table.append(entry)
    return table
