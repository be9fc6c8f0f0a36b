"""One virtual subject through a trial: disease in daily steps, treatment from its start, visits.

The daily step is the disease layer's (``disease.simulate.init_muscle`` / ``step``); what differs
from ``simulate`` is what is recorded: readouts only at visits, with one volume conductor per
muscle kept from baseline (fibre weights follow atrophy), and onset and end stage watched daily.
"""

from __future__ import annotations

import numpy as np

from endplate.disease.alsfrs import alsfrs_like_score
from endplate.disease.model import drive_rates, first_partner, kernel_parameters, mechanism_values
from endplate.disease.simulate import init_muscle, muscle_drives, readout_seed, refresh_atrophy, step_many
from endplate.muscle.cmap import maximal_cmap
from endplate.muscle.emg import conductor
from endplate.muscle.mune import estimate_value, mune
from endplate.seeding import substreams
from endplate.therapy.cohort import Subject
from endplate.therapy.interventions import Course


def simulate_subject(trial, subject: Subject, known: dict) -> dict:
    """Arrays for one subject (visits x muscles), events in days from the start of treatment."""
    sc, geno = subject.scenario, subject.genotype
    mech = mechanism_values(sc.hypothesis, geno, sc.set)
    partner = first_partner(sc.first_partner)
    p = kernel_parameters(mech, geno, sc.soma_death_blocked, partner)
    seeds = substreams(subject.seed, *sc.muscles)
    states = {m: init_muscle(sc, m, p, geno, seeds[m]) for m in sc.muscles}
    conds = {m: conductor(st.anatomy) for m, st in states.items()}
    weights = {m: c.fibre_weight_mv.copy() for m, c in conds.items()}
    term_rate, cort_rate = drive_rates(mech, geno)
    n_v, n_m = trial.n_visits, len(sc.muscles)
    out = {k: np.full((n_v, n_m), np.nan) for k in ("cmap_mv", "mune", "mune_true", "force_percent")}
    out["composite"] = np.full(n_v, np.nan)
    start = subject.enrol_offset_days if trial.start_relative_to == "age" else None
    onset_day = death_day = None
    course, plan = None, trial.arms[subject.arm]
    days = np.arange(sc.start_day, sc.end_day + 1)
    drives = {m: muscle_drives(st, days, geno, term_rate, cort_rate) for m, st in states.items()}
    g_term = {m: d[0] for m, d in drives.items()}
    g_cort = {m: d[1] for m, d in drives.items()}
    onset_muscles = [list(states).index(m) for m in sc.onset_muscles]
    end_muscles = [list(states).index(m) for m in sc.end_stage_muscles]
    # Stretches of days run in one kernel call each; a stretch ends at the next visit, and before
    # treatment it is short enough (at most the enrolment delay) that a start that follows onset
    # always lies beyond the stretch in which onset was seen.
    before = max(1, min(30, subject.enrol_offset_days)) if start is None else 30
    i, day = 0, int(days[0])
    while i < days.size:
        day = int(days[i])
        if course is None and start is not None and day >= start and plan:
            course = Course.resolve(plan, start, known)
            for m, st in states.items():  # the treated drives from today on
                g_term[m][i:], g_cort[m][i:] = muscle_drives(st, days[i:], geno, term_rate, cort_rate, course)
        if start is None or day < start:
            stop = day + before - 1 if start is None else min(day + before, start) - 1
        else:
            stop = min(start + -(-(day - start) // trial.visit_every_days) * trial.visit_every_days, start + trial.duration_days)
        hi = min(int(stop - days[0]) + 1, days.size)
        span = days[i:hi]
        params = (
            p
            if course is None
            else np.array([course.kernel_parameters(int(d), mech, geno, sc.soma_death_blocked, partner) for d in span])
        )
        force_by_day = np.column_stack(
            [
                step_many(st, params, int(span[0]), g_term[m][i:hi], g_cort[m][i:hi])[:, 10] / st.baseline_force
                for m, st in states.items()
            ]
        )
        onset_hits = np.flatnonzero(force_by_day[:, onset_muscles].sum(axis=1) < sc.onset_force_fraction * len(onset_muscles))
        death_hits = np.flatnonzero(force_by_day[:, end_muscles].sum(axis=1) < sc.end_stage_force_fraction * len(end_muscles))
        if onset_day is None and onset_hits.size:
            onset_day = int(span[onset_hits[0]])
            if start is None:
                start = onset_day + subject.enrol_offset_days
        if death_day is None and death_hits.size:
            death_day = int(span[death_hits[0]])
        day = int(span[-1])
        if death_day is not None and (start is None or death_day < start):
            day = death_day
            break
        if start is not None and day >= start:
            k, r = divmod(day - start, trial.visit_every_days)
            if r == 0 and k < n_v and (death_day is None or day <= death_day):
                force = dict(zip(states, force_by_day[-1]))
                _visit(trial, subject, states, conds, weights, force, out, k, day)
            if death_day is not None and day >= death_day:
                day = death_day + 1  # the daily loop stopped the day after death
                break
            if day >= start + trial.duration_days:
                break
        i = hi
    enrolled = start is not None and (death_day is None or death_day >= start) and day >= start
    rel = lambda d: np.nan if d is None or not enrolled else float(d - start)
    out.update(
        {
            "enrolled": bool(enrolled),
            "start_day": float(start) if start is not None else np.nan,
            "onset_day": rel(onset_day),
            "death_day": rel(death_day),
            "followup_days": float(min(day, start + trial.duration_days) - start) if enrolled else np.nan,
        }
    )
    return out


def _visit(trial, subject, states, conds, weights, force, out, k, day) -> None:
    for j, (m, st) in enumerate(states.items()):
        refresh_atrophy(st, day)
        cond = conds[m]
        cond.fibre_weight_mv = (weights[m] * st.anatomy.atrophy).astype(np.float32)
        scale = subject.unit_scale[m]
        if "mune" in trial.endpoints:
            r = mune(st.anatomy, trial.mune_method, readout_seed(st, "mune", day), cond)
            out["mune"][k, j] = estimate_value(r) * scale
            out["mune_true"][k, j] = r["true_units"] * scale
            out["cmap_mv"][k, j] = r["cmap_mv"] * subject.cmap_scale[m]
        else:
            out["cmap_mv"][k, j] = (
                maximal_cmap(st.anatomy, readout_seed(st, "cmap", day), cond)["amplitude_mv"] * subject.cmap_scale[m]
            )
            out["mune_true"][k, j] = st.anatomy.functioning_units() * scale
        out["force_percent"][k, j] = 100.0 * force[m]
    out["composite"][k] = alsfrs_like_score(force, trial.species, subject.covariates.get("site_of_onset"))
