"""Which measurement tells two disease variants apart, and how many animals that takes.

A *variant* is one value of one scenario key: which NMJ partner fails first (``first_partner``:
presynaptic, tsc, postsynaptic) or where degeneration starts (``hypothesis``: dying_back,
dying_forward, independent). Each variant's course is run for several animals (seeds) of one
muscle, and on each chosen day the measurements of a histologist, a synapse physiologist and an
EMG lab are taken from the muscle as the disease left it (``MEASUREMENTS``). For each pair of
variants and each measurement and day the standardised difference is reported (Cohen's d, the
difference of the means over the pooled between-animal sd) with the number of animals per group
that a two-sided two-sample t-test at alpha 0.05 needs for 80 % power; the measurement with the
largest |d| is named as the one that separates the pair. A pair that no measurement separates by
|d| >= ``SEPARABLE_D`` is reported as not separable: a comparison that no experiment can decide.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from endplate.disease.diseased_muscle import muscle_states_on_days, one_muscle_scenario
from endplate.disease.junction_state import FibreJunctionState
from endplate.disease.model import first_partners, hypotheses
from endplate.disease.scenario import Scenario
from endplate.errors import EndplateInputError
from endplate.junction.population import JunctionPopulation
from endplate.junction.train import regular_intervals
from endplate.kernels import run_train
from endplate.muscle.anatomy import Anatomy
from endplate.muscle.rns import muscle_rns
from endplate.muscle.sfemg import muscle_sfemg
from endplate.seeding import substreams

# |d| below this separates two groups only with more than ~64 animals per group (80 % power,
# alpha 0.05): beyond any single-laboratory mouse study, so the pair counts as not separable.
SEPARABLE_D = 0.5
ALPHA, POWER = 0.05, 0.8
# Fibre-by-fibre criteria of a physiologist sorting endplates: a MEPP under 80 % of its healthy
# size, a quantal content under 70 % of the fibre's healthy one (single EPPs of m ~ 50 scatter by
# ~15 %, so 70 % is two of their sds away). Assumed round criteria.
SMALL_MEPP, LOW_QUANTAL_CONTENT = 0.8, 0.7
MAX_ANIMALS = 1000  # sample sizes above this are reported as None ("not separable in practice")


@dataclass(frozen=True)
class Measurement:
    """One quantity an experimenter records, its units, how it is recorded, and its noise floor.

    ``floor_sd`` and ``floor_cv``: the between-animal sd that real animals show on top of the
    model's (absolute, in ``units``, and relative to the mean); the larger applies. All are
    ``assumed``: the model's animals differ only by the chance of their course, while real
    animals also differ in their healthy values and in how each is recorded, and without a floor
    a quantity that the model holds nearly constant (MEPP amplitude) would look separable with
    two animals. The sizes are round numbers of the spread usual in such measurements.
    """

    name: str
    units: str
    how: str
    floor_sd: float = 0.0
    floor_cv: float = 0.0


MEASUREMENTS = (
    Measurement("innervated_percent", "%", "endplates innervated (whole-mount NMJ staining)", floor_sd=5.0),
    Measurement(
        "partially_withdrawn_percent",
        "% of innervated",
        "endplates partly vacated by their terminal (NMJ staining)",
        floor_sd=3.0,
    ),
    Measurement(
        "immature_percent",
        "% of innervated",
        "endplates innervated by a young terminal, under half mature (recent reinnervation)",
        floor_sd=3.0,
    ),
    Measurement(
        "tsc_absent_denervated_percent",
        "% of denervated",
        "denervated endplates without a terminal Schwann cell (S100)",
        floor_sd=10.0,
    ),
    Measurement("motor_units", "units", "functioning motor units (the count MUNE estimates)", floor_cv=0.1),
    Measurement("axons_percent", "% of healthy", "motor axons left of the pool (ventral root counts)", floor_sd=5.0),
    Measurement(
        "motor_neurons_percent", "% of healthy", "motor neuron somata left of the pool (spinal cord counts)", floor_sd=5.0
    ),
    Measurement(
        "mepp_amplitude_relative", "x healthy", "MEPP amplitude of innervated fibres over their healthy value", floor_cv=0.15
    ),
    Measurement(
        "small_mepp_fibres_percent",
        "% of innervated",
        f"fibres whose MEPPs are under {SMALL_MEPP:.0%} of healthy (intracellular, fibre by fibre)",
        floor_sd=3.0,
    ),
    Measurement("quantal_content", "quanta", "quantal content of the first EPP (intracellular, innervated fibres)", floor_cv=0.2),
    Measurement(
        "low_quantal_content_fibres_percent",
        "% of innervated",
        f"fibres whose first EPP holds under {LOW_QUANTAL_CONTENT:.0%} of the quanta it held healthy (intracellular)",
        floor_sd=5.0,
    ),
    Measurement("epp_rundown_20hz", "EPP10/EPP1", "EPP run-down in a 20 Hz train of 10 (intracellular)", floor_sd=0.05),
    Measurement("jitter_mcd_us", "us", "SFEMG jitter, mean consecutive difference", floor_cv=0.15),
    Measurement("blocking_percent", "%", "SFEMG blocking", floor_sd=3.0),
    Measurement("fibre_density", "fibres", "SFEMG fibre density", floor_sd=0.3),
    Measurement("decrement_percent", "%", "3 Hz repetitive nerve stimulation, 4th against 1st CMAP", floor_sd=2.0),
)


def _variants(key: str) -> Callable[[], dict[str, Any]]:
    known: dict[str, Callable[[], dict[str, Any]]] = {"first_partner": first_partners, "hypothesis": hypotheses}
    if key not in known:
        raise EndplateInputError(f"--vary {key!r} is not a scenario key with variants; allowed: {', '.join(known)}")
    return known[key]


def _percent(mask: np.ndarray) -> float:
    return 100.0 * float(mask.mean()) if mask.size else math.nan


@dataclass(frozen=True)
class DiseaseReading:
    """What the measurements need of the disease state besides the muscle (copied on the day)."""

    junctions: FibreJunctionState
    healthy: JunctionPopulation  # every fibre's junction before the disease
    unit_days: np.ndarray  # (n_units, 2), the day each unit lost its axon and its soma (inf: not yet)


def measure(anatomy: Anatomy, reading: DiseaseReading, day: int, seed: int) -> dict[str, float]:
    """Every ``MEASUREMENTS`` value of one muscle on ``day``; NaN where a measurement is undefined.

    ``anatomy``: the muscle with its diseased junctions; ``reading``: its disease state that day.
    """
    js = reading.junctions
    inn = np.asarray(js.innervated, bool)
    fibres = np.flatnonzero(inn)
    streams = substreams(seed, "train", "healthy-train", "sfemg", "rns")
    values = {
        "innervated_percent": _percent(inn),
        "partially_withdrawn_percent": _percent(js.withdrawn_fraction[inn] > 0),
        "immature_percent": _percent(js.maturity[inn] < 0.5),
        "tsc_absent_denervated_percent": _percent(js.tsc_present[~inn] == 0),
        "motor_units": float(anatomy.functioning_units()),
        "axons_percent": _percent(reading.unit_days[:, 0] > day),
        "motor_neurons_percent": _percent(reading.unit_days[:, 1] > day),
    }
    if fibres.size:
        pop, healthy = anatomy.junctions.subset(fibres), reading.healthy.subset(fibres)
        mepp = pop.quantal_mv / healthy.quantal_mv
        values["mepp_amplitude_relative"] = float(mepp.mean())
        values["small_mepp_fibres_percent"] = _percent(mepp < SMALL_MEPP)
        intervals = regular_intervals(20.0, 10)
        rec = run_train(pop, pop.rested_state(), intervals, streams["train"])
        quanta, epp = _recorded(rec.quanta), _recorded(rec.epp_mv)
        before = _recorded(run_train(healthy, healthy.rested_state(), intervals[:1], streams["healthy-train"]).quanta)[:, 0]
        values["quantal_content"] = float(quanta[:, 0].mean())
        values["low_quantal_content_fibres_percent"] = _percent(quanta[:, 0] < LOW_QUANTAL_CONTENT * np.maximum(before, 1))
        first = float(epp[:, 0].mean())
        values["epp_rundown_20hz"] = float(epp[:, -1].mean()) / first if first > 0 else math.nan
    sfemg = muscle_sfemg(anatomy, 10.0, seed=streams["sfemg"], voluntary=True)
    rns = muscle_rns(anatomy, 3.0, 10, streams["rns"])
    for name, value in (
        ("jitter_mcd_us", sfemg.get("mcd_us")),
        ("blocking_percent", sfemg.get("blocking_percent")),
        ("fibre_density", sfemg.get("fibre_density")),
        ("decrement_percent", rns.get("decrement_percent")),
    ):
        values[name] = math.nan if value is None else float(value)
    return {m.name: values.get(m.name, math.nan) for m in MEASUREMENTS}


def _recorded(values: np.ndarray | None) -> np.ndarray:
    assert values is not None, "run_train records per-junction values by default"
    return values


def _read(state) -> DiseaseReading:
    from endplate.disease.junction_state import fibre_junction_state

    healthy = state.anatomy.junctions
    return DiseaseReading(fibre_junction_state(state), healthy.subset(np.arange(healthy.size)), state.unit_days.copy())


def animals_needed(d: float) -> int | None:
    """Animals per group for a two-sided two-sample t-test (alpha 0.05, power 0.8) to detect ``|d|``.

    2 when the groups do not overlap at all (d infinite); None when ``|d|`` is below
    ``SEPARABLE_D`` or more than ``MAX_ANIMALS`` would be needed.
    """
    d = abs(d)
    if not math.isfinite(d):
        return 2
    if d < SEPARABLE_D:
        return None
    if t_test_power(d, MAX_ANIMALS) < POWER:
        return None
    low, high = 2, MAX_ANIMALS  # power rises with n: the smallest n that reaches POWER, by bisection
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if t_test_power(d, mid) >= POWER else (mid + 1, high)
    return low


def t_test_power(d: float, n: int) -> float:
    """Power of a two-sided two-sample t-test at ``ALPHA`` with ``n`` per group and true effect ``d`` (noncentral t)."""
    from scipy import stats

    df, shift = 2 * n - 2, abs(d) * math.sqrt(n / 2.0)
    critical = stats.t.ppf(1.0 - ALPHA / 2.0, df)
    upper, lower = float(stats.nct.sf(critical, df, shift)), float(stats.nct.cdf(-critical, df, shift))
    # scipy's lower tail turns NaN far from the centre, where it is nil
    return upper + (lower if math.isfinite(lower) else 0.0)


def standardised_difference(a: np.ndarray, b: np.ndarray, floor_sd: float = 0.0) -> float | None:
    """Cohen's d of ``b`` against ``a``: the pooled sd, with ``floor_sd`` added in quadrature.

    +inf/-inf when the sd is nil and the means differ; None when either group has fewer than two
    defined values.
    """
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return None
    diff = float(b.mean() - a.mean())
    pooled_var = ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2)
    pooled = math.sqrt(pooled_var + floor_sd**2)
    if pooled == 0.0:
        return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    return diff / pooled


def _scenario(vary: str, variant: str, genotype: str, hypothesis: str, muscle: str, seed: int, end_day: int) -> Scenario:
    """The one-muscle course of ``variant``, with the shipped calibration of that model applied."""
    changes: dict[str, Any] = {"hypothesis": hypothesis, vary: variant}
    return one_muscle_scenario(genotype, changes.pop("hypothesis"), muscle, seed, end_day=end_day, **changes)


def signatures(
    vary: str,
    genotype: str = "SOD1-G93A",
    muscle: str = "TA",
    days: tuple[int, ...] = (50, 80, 110),
    animals: int = 4,
    seed: int = 0,
    hypothesis: str = "dying_back",
    variants: tuple[str, ...] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run every variant of ``vary`` for ``animals`` seeds and compare their measurements on ``days``.

    Returns a JSON-ready dict: ``groups`` (mean, sd and n per variant, measurement and day),
    ``pairs`` (for each pair of variants: every measurement's d and animals needed on each day,
    and ``best``, the one that separates them best) and ``not_separable`` (pairs with no
    measurement at |d| >= ``SEPARABLE_D``). Animal ``i`` of every variant has seed ``seed + i``,
    so variants are compared on the same anatomies (the muscle is built from the seed).
    """
    allowed = list(_variants(vary)())
    chosen = list(variants) if variants else allowed
    unknown = [v for v in chosen if v not in allowed]
    if unknown or len(chosen) < 2:
        raise EndplateInputError(f"--variant needs two or more of {', '.join(allowed)}; got {', '.join(chosen) or 'none'}")
    if animals < 2:
        raise EndplateInputError(f"--animals must be at least 2 (a spread between animals is needed), got {animals}")
    if hypothesis not in hypotheses():
        raise EndplateInputError(f"unknown hypothesis {hypothesis!r}; allowed: {', '.join(hypotheses())}")
    days = tuple(sorted(set(days)))
    table = {v: {m.name: np.full((len(days), animals), np.nan) for m in MEASUREMENTS} for v in chosen}
    for v in chosen:
        for i in range(animals):
            if progress is not None:
                progress(f"{vary} = {v}: animal {i + 1} of {animals}")
            sc = _scenario(vary, v, genotype, hypothesis, muscle, seed + i, days[-1])
            states = muscle_states_on_days(sc, muscle, days, read=_read)
            for k, day in enumerate(days):
                anatomy, reading = states[day]
                stream = substreams(sc.seed, f"signature-{day}")[f"signature-{day}"]
                for name, value in measure(anatomy, reading, day, stream).items():
                    table[v][name][k, i] = value
    return _summarise(
        vary, chosen, days, table, dict(genotype=genotype, muscle=muscle, animals=animals, seed=seed, hypothesis=hypothesis)
    )


def _summarise(vary: str, chosen: list[str], days: tuple[int, ...], table: dict, settings: dict) -> dict:
    def stats(x: np.ndarray) -> dict:
        x = x[np.isfinite(x)]
        return {
            "mean": float(x.mean()) if x.size else None,
            "sd": float(x.std(ddof=1)) if x.size > 1 else None,
            "n": int(x.size),
        }

    groups = {
        v: {m.name: {str(day): stats(table[v][m.name][k]) for k, day in enumerate(days)} for m in MEASUREMENTS} for v in chosen
    }
    pairs, not_separable = [], []
    for a, b in combinations(chosen, 2):
        rows = []
        for m in MEASUREMENTS:
            for k, day in enumerate(days):
                x, y = table[a][m.name][k], table[b][m.name][k]
                if np.isfinite(x).sum() < 2 or np.isfinite(y).sum() < 2:
                    continue
                mean_a, mean_b = np.nanmean(x), np.nanmean(y)
                floor = max(m.floor_sd, m.floor_cv * abs(0.5 * (mean_a + mean_b)))
                d = standardised_difference(x, y, floor)
                if d is None:
                    continue
                rows.append(
                    {
                        "measurement": m.name,
                        "units": m.units,
                        "how": m.how,
                        "day": day,
                        "mean_a": float(mean_a),
                        "mean_b": float(mean_b),
                        "d": d if math.isfinite(d) else None,
                        "d_infinite": not math.isfinite(d),
                        "animals_per_group": animals_needed(d),
                        "floor_sd": floor,
                    }
                )
        rows.sort(key=lambda r: -(math.inf if r["d_infinite"] else abs(r["d"] or 0.0)))
        best = rows[0] if rows and (rows[0]["d_infinite"] or abs(rows[0]["d"] or 0.0) >= SEPARABLE_D) else None
        if best is None:
            not_separable.append([a, b])
        pairs.append({"a": a, "b": b, "best": best, "measurements": rows})
    return {
        "vary": vary,
        "variants": chosen,
        "days": list(days),
        **settings,
        "separable_d": SEPARABLE_D,
        "groups": groups,
        "pairs": pairs,
        "not_separable": not_separable,
    }
