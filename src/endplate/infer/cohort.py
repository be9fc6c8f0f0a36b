"""A mouse cohort's table fitted by each hypothesis: model probabilities, checks, and the next measurement.

The competing models, their parameters and priors are those of the bundled ``sod1-g93a``
calibration problem (``calibrate/problems/sod1-g93a.toml``: dying back, dying forward,
independent); the targets are the user's rows (``calibrate.cohort_table``), the scenario that of
the table's strain, with CMAP and MUNE read every 10 days when the table has them. The fit is
the calibration layer's ABC-SMC with model choice (``calibrate.fit.run_stage``, the seeded Dask
sampler), so a cohort fit and ``endplate fit`` are the same machinery on different targets.

Then, from each model's final population: posterior predictive checks of every row (median and
90 % interval, model-averaged and per model), and what each hypothesis predicts for measurements
the user could make next (each per-muscle measure of the table two weeks after its last age;
the daily measures of the table's muscles not yet measured, at the table's last age; onset and
survival if absent), ranked by how far apart the hypotheses' medians are in units of their
predictive spread.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from endplate.calibrate.cohort_table import MEASURES, STRAINS, CohortRow, row_target
from endplate.calibrate.problem import Problem, load_problem
from endplate.calibrate.registry import Target

NEXT_WEEKS = 2
DAILY = ("innervated_endplates_percent", "motor_neurons_percent", "force_percent")


def cohort_problem(rows: list[CohortRow]) -> Problem:
    """The calibration problem of a cohort table: the sod1-g93a models and priors, the rows as targets."""
    base = load_problem("sod1-g93a")
    measures = {r.measure for r in rows}
    muscles = list(base.scenario_changes["muscles"]) + sorted(
        {r.muscle for r in rows if r.muscle} - set(base.scenario_changes["muscles"])
    )
    changes = {
        **base.scenario_changes,
        "muscles": muscles,
        "readout_every_days": 10 if "cmap_percent" in measures else base.scenario_changes["readout_every_days"],
        "mune_every_days": 10 if "mune" in measures else base.scenario_changes["mune_every_days"],
    }
    from endplate.disease.scenario import load_scenario

    last = max((r.age_days for r in rows if r.muscle), default=0.0)
    end = load_scenario(STRAINS[rows[0].strain]).end_day
    if last + 7 * NEXT_WEEKS + 10 > end:
        changes["end_day"] = int(last + 7 * NEXT_WEEKS + 10)
    targets = tuple(row_target(r, f"row{r.line}") for r in rows)
    return Problem("cohort", "user cohort table", STRAINS[rows[0].strain], changes, base.models, base.priors, targets)


def next_targets(rows: list[CohortRow]) -> tuple[Target, ...]:
    """Candidate next measurements (see the module docstring); spread 1 (never used in a distance)."""
    out: dict[tuple, CohortRow] = {}
    last = max((r.age_days for r in rows if r.muscle), default=90.0)
    template = rows[0]
    for r in rows:
        if r.muscle:
            later = max(x.age_days for x in rows if (x.measure, x.muscle) == (r.measure, r.muscle)) + 7 * NEXT_WEEKS
            out[(r.measure, r.muscle)] = dataclasses.replace(r, age_days=later, value=0.0, sd=1.0, line=0)
    for m in sorted({r.muscle for r in rows if r.muscle}):
        for measure in DAILY:
            out.setdefault(
                (measure, m), dataclasses.replace(template, measure=measure, muscle=m, age_days=last, value=0.0, sd=1.0, line=0)
            )
    for event in ("onset_age_days", "survival_age_days"):
        if event not in {r.measure for r in rows}:
            out[(event, "")] = dataclasses.replace(template, measure=event, muscle="", age_days=last, value=0.0, sd=1.0, line=0)
    return tuple(row_target(r, f"next{i}") for i, r in enumerate(out.values()))


def _quantiles(values: np.ndarray) -> dict:
    ok = values[np.isfinite(values) & (values < 1e5)]
    if ok.size == 0:
        return {"median": None, "interval_90": [None, None]}
    q = np.quantile(ok, (0.05, 0.5, 0.95))
    return {"median": float(q[1]), "interval_90": [float(q[0]), float(q[2])]}


def fit_cohort(
    rows: list[CohortRow],
    *,
    quick: bool,
    seed: int,
    workers: int = 2,
    progress: Callable[[str, int, int, dict], None] | None = None,
) -> dict:
    """Fit the table's rows by each hypothesis and report (the JSON payload of ``endplate infer cohort``)."""
    from endplate.calibrate.fit import connect, posterior, predictive, run_stage, settings_for
    from endplate.cluster import disconnect

    settings = settings_for("sod1-g93a", quick, loso=False)
    problem = cohort_problem(rows)
    candidates = next_targets(rows)
    full = dataclasses.replace(problem, targets=problem.targets + candidates)
    ids = [t.id for t in full.targets]
    client, cluster = connect(None, workers)
    try:
        with tempfile.TemporaryDirectory(prefix="endplate-cohort-") as folder:
            h = run_stage(
                Path(folder) / "main.db", problem, settings.population, settings.generations, client, seed, settings, progress
            )
            probs, particles = posterior(h, problem)
            draws = predictive(client, full, probs, particles, settings.ppc_draws, seed, ids)
            simulations = int(h.total_nr_simulations)
    finally:
        disconnect(client, cluster)
    names = [m.name for m in problem.models]
    return {
        "strain": rows[0].strain,
        "scenario": problem.scenario,
        "hypotheses": names,
        "model_probabilities": dict(zip(names, probs.tolist())),
        "checks": _checks(problem, rows, draws, probs, names, ids),
        "next_measurements": _next(candidates, draws, names, ids),
        "settings": dataclasses.asdict(settings),
        "simulations": simulations,
        "seed": seed,
        "quick": quick,
        "priors": {
            k: {"key": p.key, "distribution": p.distribution, "low": p.low, "high": p.high} for k, p in problem.priors.items()
        },
    }


def _pooled(draws: dict, probs: np.ndarray, j: int, rng: np.random.Generator) -> np.ndarray:
    """Model-averaged predictive draws of target ``j``: each model's draws resampled by its probability."""
    parts = [rng.choice(draws[m][:, j], size=int(round(400 * probs[m]))) for m in sorted(draws) if probs[m] > 0]
    return np.concatenate(parts) if parts else np.array([np.nan])


def _checks(
    problem: Problem, rows: list[CohortRow], draws: dict, probs: np.ndarray, names: list[str], ids: list[str]
) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for r, t in zip(rows, problem.targets):
        j = ids.index(t.id)
        pooled = _quantiles(_pooled(draws, probs, j, rng))
        lo, hi = pooled["interval_90"]
        out.append(
            {
                "row": r.line,
                "measure": r.measure,
                "muscle": r.muscle or None,
                "age_days": r.age_days,
                "observed": r.value,
                "sd": r.sd,
                "predicted": pooled,
                "inside_90": None if lo is None else bool(lo <= r.value <= hi),
                "z": None if lo is None else (r.value - pooled["median"]) / r.sd,
                "by_hypothesis": {names[m]: _quantiles(draws[m][:, j]) for m in sorted(draws)},
            }
        )
    return out


def _next(candidates: tuple[Target, ...], draws: dict, names: list[str], ids: list[str]) -> list[dict]:
    out = []
    for t in candidates:
        j = ids.index(t.id)
        per = {names[m]: _quantiles(draws[m][:, j]) for m in sorted(draws)}
        medians = [v["median"] for v in per.values() if v["median"] is not None]
        spreads = [v["interval_90"][1] - v["interval_90"][0] for v in per.values() if v["median"] is not None]
        separation = (max(medians) - min(medians)) / max(np.mean(spreads), 1e-9) if len(medians) > 1 else 0.0
        out.append(
            {
                "measure": t.quantity,
                "muscle": t.muscles[0] if t.muscles else None,
                "age_days": t.age_days,
                "unit": MEASURES[t.quantity][1],
                "by_hypothesis": per,
                "separation": float(separation) if math.isfinite(separation) else None,
            }
        )
    return sorted(out, key=lambda x: -(x["separation"] or 0.0))
