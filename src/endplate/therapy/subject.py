"""One virtual subject through a trial: disease in daily steps, treatment from its start, visits.

The day loop is the disease layer's (``disease.simulate.run_days``), with this subject's arm as
the treatment (``Arm``: untreated until the start, then the arm's course); what differs from
``simulate`` is what is recorded: readouts only at visits, with one volume conductor per muscle
kept from baseline (fibre weights follow atrophy), and onset and end stage watched daily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from endplate.disease import kernel as kern
from endplate.disease.alsfrs import alsfrs_like_score
from endplate.disease.resolve import DiseaseModel, resolve
from endplate.disease.simulate import (
    MuscleState,
    Scheduled,
    Stretch,
    Untreated,
    init_muscle,
    readout_seed,
    refresh_atrophy,
    run_days,
)
from endplate.muscle.cmap import maximal_cmap
from endplate.muscle.emg import conductor
from endplate.muscle.mune import estimate_value, mune
from endplate.seeding import substreams
from endplate.therapy.cohort import Subject
from endplate.therapy.interventions import Course

MAX_STRETCH_DAYS = 365  # longest stretch of days before treatment (see simulate_subject)


class Arm:
    """A subject's treatment: none until ``start`` (set once known), then the arm's course from it."""

    def __init__(self, plan, known: dict) -> None:
        self.plan, self.known = plan, known
        self.start: int | None = None
        self.course: Course | None = None

    def _now(self, day: int) -> Untreated | Scheduled:
        if self.course is None and self.start is not None and day >= self.start and self.plan:
            self.course = Course.resolve(self.plan, self.start, self.known)
        return Untreated() if self.course is None else Scheduled(self.course)

    def kernel_rows(self, model: DiseaseModel, days: np.ndarray) -> np.ndarray:
        return self._now(int(days[0])).kernel_rows(model, days)

    def drives(self, model: DiseaseModel, state: MuscleState, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._now(int(days[0])).drives(model, state, days)

    def junction_adjuster(self, day: int) -> Callable | None:
        return self._now(day).junction_adjuster(day)


@dataclass
class _Events:
    """Days of a subject's onset and death (None: not yet), the last day its loop reached, and the
    first day each muscle's force fell below the onset fraction (``weak``, None: not yet)."""

    last: int
    weak: list
    onset: int | None = None
    death: int | None = None


def simulate_subject(trial, subject: Subject, known: dict, look: Callable[[int, int, dict], None] | None = None) -> dict:
    """Arrays for one subject (visits x muscles), events in days from the start of treatment.

    ``look(k, day, states)``: called at visit ``k`` (on ``day``) with the muscle states after the
    visit's readouts (atrophy up to date; read only), for a study that records more than the
    trial's endpoints from the same patients.

    ``weak_day`` (one per muscle): the first day the muscle's force fell below the scenario's onset
    fraction, the day its region would be counted as reached (NaN: not reached).
    """
    sc = subject.scenario
    model = resolve(sc, subject.genotype)
    seeds = substreams(subject.seed, *sc.muscles)
    states = {m: init_muscle(model, m, seeds[m], baseline_cmap=False) for m in sc.muscles}  # CMAP is reported in mV
    conds = {m: conductor(st.anatomy) for m, st in states.items()}
    weights = {m: c.fibre_weight_mv.copy() for m, c in conds.items()}
    n_v, n_m = trial.n_visits, len(sc.muscles)
    out: dict[str, Any] = {k: np.full((n_v, n_m), np.nan) for k in ("cmap_mv", "mune", "mune_true", "force_percent")}
    out["composite"] = np.full(n_v, np.nan)
    arm = Arm(trial.arms[subject.arm], known)
    arm.start = subject.enrol_offset_days if trial.start_relative_to == "age" else None
    events = _Events(last=int(sc.start_day), weak=[None] * n_m)
    onset_muscles = [list(states).index(m) for m in sc.onset_muscles]
    end_muscles = [list(states).index(m) for m in sc.end_stage_muscles]
    # Stretches of days run in one kernel call each; a stretch ends at the next visit, and before
    # treatment it is short enough (at most the enrolment delay) that a start that follows onset
    # always lies beyond the stretch in which onset was seen. Results do not depend on the
    # stretches (the kernel's streams depend on the day only; onset and death are found day by
    # day within a stretch), so they are as long as that allows, up to a year: each costs a
    # kernel call and the drives of every muscle (30 days at most cost a fifth of a subject's time).
    before = max(1, min(MAX_STRETCH_DAYS, subject.enrol_offset_days)) if arm.start is None else MAX_STRETCH_DAYS

    def last_of_stretch(day: int) -> int:
        start = arm.start
        if start is None or day < start:
            return day + before - 1 if start is None else min(day + before, start) - 1
        k = -(-(day - start) // trial.visit_every_days)
        return min(start + k * trial.visit_every_days, start + trial.duration_days)

    def record(stretch: Stretch) -> bool:
        span = stretch.days
        force_by_day = np.column_stack([stretch.tallies[m][:, kern.FORCE] / st.baseline_force for m, st in states.items()])
        onset_hits = np.flatnonzero(force_by_day[:, onset_muscles].sum(axis=1) < sc.onset_force_fraction * len(onset_muscles))
        death_hits = np.flatnonzero(force_by_day[:, end_muscles].sum(axis=1) < sc.end_stage_force_fraction * len(end_muscles))
        weak = force_by_day < sc.onset_force_fraction
        for j in np.flatnonzero(weak.any(axis=0)):
            if events.weak[j] is None:
                events.weak[j] = int(span[np.argmax(weak[:, j])])
        if events.onset is None and onset_hits.size:
            events.onset = int(span[onset_hits[0]])
            if arm.start is None:
                arm.start = events.onset + subject.enrol_offset_days
        if events.death is None and death_hits.size:
            events.death = int(span[death_hits[0]])
        day, start, death = int(span[-1]), arm.start, events.death
        events.last = day
        if death is not None and (start is None or death < start):
            events.last = death
            return True
        if start is not None and day >= start:
            k, r = divmod(day - start, trial.visit_every_days)
            if r == 0 and k < n_v and (death is None or day <= death):
                _visit(trial, subject, states, conds, weights, dict(zip(states, force_by_day[-1])), out, k, day)
                if look is not None:
                    look(k, day, states)
            if death is not None and day >= death:
                events.last = death + 1  # the daily loop stopped the day after death
                return True
            if day >= start + trial.duration_days:
                return True
        return False

    run_days(model, states, np.arange(sc.start_day, sc.end_day + 1), arm, last_of_stretch, record)
    start, day, onset_day, death_day = arm.start, events.last, events.onset, events.death
    enrolled = start is not None and (death_day is None or death_day >= start) and day >= start
    rel = lambda d: np.nan if d is None or not enrolled else float(d - start)
    out.update(
        {
            "enrolled": bool(enrolled),
            "start_day": float(start) if start is not None else np.nan,
            "onset_day": rel(onset_day),
            "death_day": rel(death_day),
            "weak_day": np.array([rel(d) for d in events.weak]),
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
