"""Observation models: how a published disease number was measured, applied to a simulated run.

A *reader* takes what a simulation produced (the ``Run`` returned by ``disease.simulate.simulate``)
and returns the true simulated quantity (a percentage, a day, a rate). An ``Observation`` adds
the measurement on top: histology counts a finite number of endplates or motor neurons, so the
published percentage is a binomial sample of the simulated fraction; onset and end stage follow
the definitions the scenario states (force of named muscles below a fraction); MUNE uses the
scenario's MUNE method through the muscle layer's readouts; survival adds the delay from
paralysis to the humane end point. ``endplate validate`` reads the same readers without noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from endplate.errors import EndplateInputError

if TYPE_CHECKING:
    from endplate.disease.simulate import Run

HINDLIMB = ("TA", "EDL", "MG", "soleus")
# The humane end point comes about 6 days after both hindlimbs are paralysed (difference of the
# cohort means of D10 and D11; assumed to hold per animal).
PARALYSIS_TO_END_POINT_DAYS = 130.2 - 123.9
DAYS_PER_MONTH = 30.44


def _index(run: Run, day: float) -> int:
    days = np.asarray(run.day)
    return int(np.clip(np.searchsorted(days, day), 0, days.size - 1))


def _censored(run: Run) -> float:
    """Day reported for an event the simulation never reached: just past its last day."""
    return float(run.day[-1]) + 30.0


def day_value(run: Run, muscles: tuple[str, ...], key: str, day: float) -> float:
    """Mean of a daily percentage (``key``) over ``muscles`` on ``day``."""
    i = _index(run, day)
    return float(np.mean([getattr(run.muscles[m], key)[i] for m in muscles]))


def readout_value(run: Run, muscles: tuple[str, ...], key: str, day: float) -> float:
    """Mean over ``muscles`` of a readout taken on its own grid (``cmap_percent`` on ``readout_day``,
    ``mune`` on ``mune_day``) at the grid day nearest ``day``."""
    grid = np.asarray(run.mune_day if key == "mune" else run.readout_day, float)
    i = int(np.argmin(np.abs(grid - day)))
    return float(np.mean([getattr(run.muscles[m], key)[i] for m in muscles]))


def lost_percent(run: Run, muscles: tuple[str, ...], key: str, day: float) -> float:
    """100 minus a daily percentage (innervated, motor neurons) on ``day``."""
    return 100.0 - day_value(run, muscles, key, day)


def event_day(run: Run, key: str) -> float:
    """``onset_day`` or ``end_stage_day`` as the scenario defines them; censored if never reached."""
    value = getattr(run, key)
    return _censored(run) if value is None else float(value)


def motor_neurons_lost_at_end_stage(run: Run, muscles: tuple[str, ...]) -> float:
    end = run.end_stage_day
    return lost_percent(run, muscles, "motor_neurons_percent", run.day[-1] if end is None else end)


def axon_half_day(run: Run, muscle: str, type_index: int) -> float:
    """First day half the axons of one type (0 S, 1 FR, 2 FF) in ``muscle`` are gone."""
    axons = run.muscles[muscle].axons_percent_by_type[:, type_index]
    hit = np.flatnonzero(axons < 50)
    return float(run.day[hit[0]]) if hit.size else _censored(run)


def ff_to_fr_days(run: Run, muscle: str) -> float:
    return axon_half_day(run, muscle, 1) - axon_half_day(run, muscle, 2)


def survival_day(run: Run) -> float:
    return event_day(run, "end_stage_day") + PARALYSIS_TO_END_POINT_DAYS


def survival_months_from_onset(run: Run) -> float:
    return (event_day(run, "end_stage_day") - event_day(run, "onset_day")) / DAYS_PER_MONTH


def alsfrs_decline_per_month(run: Run) -> float:
    """Fall of the ALSFRS-R-like composite (points per month) over the year after onset.

    The composite is ``disease.alsfrs.alsfrs_like_score`` (hand, limb, respiratory
    and bulbar domains of 12 points from each region's force); the slope is fitted to monthly
    values, as a clinic rates the scale at visits.
    """
    from endplate.disease.alsfrs import alsfrs_like_score

    onset = event_day(run, "onset_day")
    days = np.asarray(run.day)
    visits = np.flatnonzero((days >= onset) & (days <= onset + 365) & ((days - onset) % 30 == 0))
    force = {m: run.muscles[m].force_percent / 100 for m in run.muscles}
    score = [alsfrs_like_score({m: f[i] for m, f in force.items()}, "human") for i in visits]
    return float(-np.polyfit(days[visits] / DAYS_PER_MONTH, score, 1)[0])


def at_onset(run: Run, muscles: tuple[str, ...], key: str) -> float:
    """A daily percentage averaged over ``muscles`` on the onset day (on the last day if none)."""
    onset = run.onset_day
    return day_value(run, muscles, key, run.day[-1] if onset is None else onset)


# The six-muscle MUNIX sum of Neuwirth et al. 2015 (APB, ADM, biceps, TA, EDB, AH; H01) in the
# muscles the human scenario has: the two hand muscles, biceps, and TA for the three lumbosacral ones.
SIX_MUSCLE_SUM = ("APB", "FDI", "biceps", "TA", "TA", "TA")


def mune_decline_percent_per_month(run: Run, muscles: tuple[str, ...], start: float = 0.0, end: float = 365.0) -> float:
    """Decline of a MUNE sum over the year after onset, % of its first value per month (slope).

    Each muscle counts as a share of its own first value, equally weighted: a sum of MUNIX over
    several muscles (Neuwirth 2015) adds indices of about the same size in health (APB 191, ADM
    179, biceps 180, TA 152; Cao 2020), whatever their true unit counts. A muscle named more than
    once counts once per naming: it stands for as many muscles of the study at its level (the
    six-muscle sum of H01 is read as APB and FDI for the two hand muscles, biceps, and TA three
    times for TA, EDB and AH, the lumbosacral half of the sum). ``start`` and ``end`` are the
    window's days relative to onset (visits inside it, ends included).
    """
    if run.onset_day is None:
        return 0.0
    days = np.asarray(run.mune_day, float)
    values = np.array([run.muscles[m].mune for m in muscles], float)
    window = (days >= run.onset_day + start) & (days <= run.onset_day + end)
    use = window & np.isfinite(values).all(axis=0)
    if use.sum() < 2 or np.any(values[:, use][:, 0] <= 0):
        return 0.0
    relative = 100 * (values[:, use] / values[:, use][:, :1]).mean(axis=0)
    return float(-np.polyfit(days[use] / DAYS_PER_MONTH, relative, 1)[0])


def mune_decline_before_weakness(run: Run, muscles: tuple[str, ...]) -> float:
    """MUNE decline in the year before weakness (% of the first visit's value per month, slope).

    Neuwirth et al. followed clinically strong muscles until they weakened and read MUNIX's
    monthly loss over the 12 months before weakness: units are lost while strength (and the CMAP)
    is held by reinnervation, so this reads the lag of function behind unit loss. Weakness here is
    the scenario's onset (force of the onset muscles below its fraction); visits are ``mune_day``.
    """
    return mune_decline_percent_per_month(run, muscles, -365.0, 0.0)


def units_before_weakness(run: Run, muscles: tuple[str, ...], days_before: float = 365.0) -> float:
    """True motor units of ``muscles`` ``days_before`` weakness, % of the first visit (mean over muscles).

    Serial MUNE of asymptomatic SOD1 carriers stays normal until a sudden fall several months
    before weakness (Aggarwal & Nicholson 2002): units are held until the last year. The true
    count (``mune_true``) at the visit nearest that day, so no MUNE method's scatter is read as
    loss; weakness is the scenario's onset. NaN without an onset or without a visit that early.
    """
    if run.onset_day is None:
        return float("nan")
    days = np.asarray(run.mune_day, float)
    day = run.onset_day - days_before
    if day < days[0]:
        return float("nan")
    i = int(np.argmin(np.abs(days - day)))
    return float(np.mean([100 * run.muscles[m].mune_true[i] / run.muscles[m].mune_true[0] for m in muscles]))


def respiratory_course_months(run: Run, muscle: str = "diaphragm") -> float:
    """Months from respiratory weakness to end stage: how fast the respiratory region empties once reached.

    Weakness is the first day ``muscle``'s force falls below the scenario's onset fraction (the
    threshold that defines onset in the onset region), end stage the run's. Kobayakawa et al. 2024
    report onset of respiratory symptoms and the respiratory endpoint (L71). NaN where either
    event did not happen.
    """
    force = run.muscles[muscle].force_percent
    hit = np.flatnonzero(force < 100 * run.scenario.onset_force_fraction)
    if not hit.size or run.end_stage_day is None:
        return float("nan")
    return (run.end_stage_day - float(run.day[hit[0]])) / DAYS_PER_MONTH


def partial_denervation_enlargement(seed: int, days: int, changes: dict | None = None, cut_fraction: float = 0.85) -> float:
    """Rafuse et al.: cut most of a healthy muscle's axons; mean enlargement of the survivors after ``days``.

    Wild-type mouse MG. Units, in random order, lose their axon on day 0 until ``cut_fraction``
    of the fibres are orphaned: the extent of a partial denervation is measured by the force
    (fibres) lost, and units enlarge to their maximum once fewer than about 20 % remain (Rafuse
    et al. 1992). Reinnervation by the survivors, with the mechanism values ``changes`` (scenario
    ``set`` keys), is followed for ``days`` days. Returns fold enlargement.
    """
    from endplate.disease import kernel as kern
    from endplate.disease.resolve import resolve
    from endplate.disease.scenario import load_scenario
    from endplate.disease.simulate import init_muscle, step

    mech_changes = {k: v for k, v in (changes or {}).items() if not k.startswith("genotype.")}
    sc = load_scenario("wild-type", seed=seed, muscles=["MG"], probe_days=[], probe_muscle="MG", set=mech_changes)
    model = resolve(sc)
    p = model.kernel_parameters
    state = init_muscle(model, "MG", seed)
    order = np.random.default_rng(seed).permutation(state.anatomy.n_units)
    orphaned = np.cumsum(state.size0[order]) / state.size0.sum()
    cut = np.zeros(state.anatomy.n_units, bool)
    cut[order[: np.searchsorted(orphaned, cut_fraction) + 1]] = True
    state.anatomy.unit_alive[cut] = False
    state.counts[kern.AXONS] -= np.bincount(state.anatomy.unit_type[cut], minlength=3)
    for day in range(days):
        step(state, p, day, -1.0, -1.0)
    survivors = ~cut
    return float(np.mean(state.size[survivors] / state.size0[survivors]))


def unit_dismantling(scenario: str, seed: int, muscle: str = "TA", unit_type: int = 2, **changes) -> dict:
    """Martineau et al. 2018: follow single motor units as their NMJs are lost (D16).

    Runs ``scenario`` day by day, following who owns each fibre. For every unit of ``unit_type``
    (FF by default) that loses NMJs, the dismantling time is from its first lost NMJ to its last;
    it sprouts concurrently if it takes over a fibre in that window. Returns the median dismantling
    time (days), the fraction of dismantling units that sprout concurrently, and their number.
    """
    from endplate.disease.scenario import load_scenario
    from endplate.disease.simulate import simulate

    previous: dict = {}
    first: dict = {}
    last: dict = {}
    gained_days: dict = {}

    def observe(day: int, states: dict) -> None:
        owner = states[muscle].anatomy.owner
        before = previous.get("owner")
        if before is not None:
            changed = owner != before
            for u in np.unique(before[changed & (before >= 0)]):
                first.setdefault(int(u), day)
                last[int(u)] = day
            for u in np.unique(owner[changed & (owner >= 0)]):
                gained_days.setdefault(int(u), []).append(day)
        previous["owner"] = owner.copy()

    sc = load_scenario(
        scenario,
        seed=seed,
        muscles=[muscle],
        onset_muscles=[muscle],
        end_stage_muscles=[muscle],
        probe_days=[],
        readout_every_days=100000,
        mune_every_days=100000,
        **changes,
    )
    run = simulate(sc, observe=observe)
    types = run.states[muscle].anatomy.unit_type
    units = [u for u in first if types[u] == unit_type]
    if not units:
        return {"median_days": float("nan"), "concurrent_fraction": float("nan"), "units": 0}
    spans = [last[u] - first[u] for u in units]
    concurrent = [any(first[u] <= d <= last[u] for d in gained_days.get(u, ())) for u in units]
    return {"median_days": float(np.median(spans)), "concurrent_fraction": float(np.mean(concurrent)), "units": len(units)}


@dataclass(frozen=True)
class Observation:
    """How one published number was measured.

    ``kind`` names the measurement (``KINDS``); ``muscles`` and ``day`` say where and when;
    ``count`` is the number of endplates or motor neurons counted (0: no counting noise).
    ``observe(run, rng)`` returns the number a study would have reported from ``run``.
    """

    kind: str
    muscles: tuple[str, ...] = ()
    day: float = float("nan")
    count: int = 0

    def true_value(self, run: Run, seed: int = 0) -> float:
        return KINDS[self.kind][0](self, run, seed)

    def observe(self, run: Run, rng: np.random.Generator, seed: int = 0) -> float:
        value = self.true_value(run, seed)
        if KINDS[self.kind][1] and self.count > 0:
            return binomial_percent(value, self.count, rng)
        return value


def binomial_percent(percent: float, count: int, rng: np.random.Generator) -> float:
    """A percentage as reported from ``count`` counted items that are each lost with that probability."""
    p = float(np.clip(percent / 100.0, 0.0, 1.0))
    return 100.0 * rng.binomial(count, p) / count


# kind -> (reader(observation, run, seed), counted: is the published value a count of items?)
KINDS: dict[str, tuple[Callable, bool]] = {
    "endplates_denervated": (lambda o, r, s: day_value(r, o.muscles, "denervated_percent", o.day), True),
    "endplates_not_innervated": (lambda o, r, s: lost_percent(r, o.muscles, "innervated_percent", o.day), True),
    "motor_neurons_lost": (lambda o, r, s: lost_percent(r, o.muscles, "motor_neurons_percent", o.day), True),
    "motor_neurons_lost_at_end_stage": (lambda o, r, s: motor_neurons_lost_at_end_stage(r, o.muscles), True),
    "onset_day": (lambda o, r, s: event_day(r, "onset_day"), False),
    "end_stage_day": (lambda o, r, s: event_day(r, "end_stage_day"), False),
    "survival_day": (lambda o, r, s: survival_day(r), False),
    "ff_axon_half_day": (lambda o, r, s: axon_half_day(r, o.muscles[0], 2), False),
    "ff_to_fr_days": (lambda o, r, s: ff_to_fr_days(r, o.muscles[0]), False),
    "survival_months_from_onset": (lambda o, r, s: survival_months_from_onset(r), False),
    "endplates_denervated_at_onset": (lambda o, r, s: at_onset(r, o.muscles, "denervated_percent"), True),
    "mune_decline_percent_per_month": (lambda o, r, s: mune_decline_percent_per_month(r, o.muscles), False),
    "mune_decline_before_weakness": (lambda o, r, s: mune_decline_before_weakness(r, o.muscles), False),
    # As measured in a user's cohort table (calibrate/cohort_table.py): the retained share, not the loss.
    "endplates_innervated": (lambda o, r, s: day_value(r, o.muscles, "innervated_percent", o.day), True),
    "motor_neurons_retained": (lambda o, r, s: day_value(r, o.muscles, "motor_neurons_percent", o.day), True),
    "force_percent": (lambda o, r, s: day_value(r, o.muscles, "force_percent", o.day), False),
    "cmap_percent": (lambda o, r, s: readout_value(r, o.muscles, "cmap_percent", o.day), False),
    "mune_units": (lambda o, r, s: readout_value(r, o.muscles, "mune", o.day), False),
    "enlargement_percent_after_partial_denervation": (
        lambda o, r, s: 100 * partial_denervation_enlargement(s, int(o.day), r.scenario.set),
        False,
    ),
}


def observation(kind: str, muscles: tuple[str, ...] = (), day: float = float("nan"), count: int = 0) -> Observation:
    """A checked ``Observation``."""
    if kind not in KINDS:
        raise EndplateInputError(f"unknown observation model {kind!r}; allowed: {', '.join(KINDS)}")
    if count < 0:
        raise EndplateInputError(f"observation {kind}: count must be non-negative, got {count}")
    return Observation(kind, tuple(muscles), float(day), int(count))
