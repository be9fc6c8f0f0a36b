"""Virtual cohorts: individuals drawn from parameter distributions, and the reduced-fidelity muscles.

Each subject has its own seed, ``SeedSequence(trial seed, spawn_key=(index,))``, so what it is and
what happens to it never depend on which worker runs it or in which order. Arms are assigned by
permuted blocks drawn from the trial seed alone.

Distributions. Each subject's scenario takes the shipped calibration of its genotype (applied by
``load_scenario``) and these documented priors (all ``assumed`` unless said otherwise):

- Mouse (SOD1-G93A): strain ``B6SJL`` or ``C57BL6`` picks the genotype preset; the disease
  midpoint varies between animals with SD ``midpoint_sd_days`` (4 days: survival within a
  colony spreads by about a week, recalled); females start ``female_delay_days`` (3) later
  (females live slightly longer in high-copy colonies, recalled).
- Human (sporadic ALS): site of onset (upper limb, lower limb, bulbar; default weights 0.384 /
  0.336 / 0.221: limb 72 % and bulbar 22.1 % in the US National ALS Registry, H05 read; trunk or
  global onset, 6.1 %, is not simulated; the limb split 8:7 is assumed) sets which muscle goes
  first and the delays of contiguous spread; progression is a factor ``f`` = lognormal(0, ``progression_sd`` = 0.35) x
  exp(0.02 (age - 60)) that divides the drive's e-folding time (older patients progress faster,
  recalled); age at onset ~ normal(60, 11) years clipped to 30-85 (recalled typical range).

Reduced fidelity (``fidelity.fibres_per_unit``, ``fidelity.max_units``): a human muscle has up to
hundreds of thousands of fibres; a cohort of thousands cannot afford that. The cohort model keeps
at most ``max_units`` units (unit loss is a per-unit process, so fractions are unchanged in
expectation) with ``fibres_per_unit`` fibres each (reinnervation acts within a unit's
neighbourhood, so relative enlargement is kept), spread sparsely over the full muscle's
cross-section so that their depths under the electrode are the full muscle's. Readouts are
rescaled: each fibre's potential is multiplied by (true fibres per unit / model fibres per unit),
so motor unit potentials keep their size; MUNE and unit counts are multiplied by (true units /
model units); CMAP amplitudes are multiplied by the ratio of the healthy full to the healthy
reduced muscle's maximal CMAP (``cmap_scale``). Force, CMAP and MUNE as
fractions of baseline need no rescaling. ``endplate.therapy.fidelity.compare`` checks this
against the full muscles.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from endplate.disease.model import Genotype, genotype
from endplate.disease.scenario import Scenario, load_scenario
from endplate.muscle.presets import load_muscle

MOUSE_STRAINS = {"B6SJL": "SOD1-G93A", "C57BL6": "SOD1-G93A-C57BL6"}
SEXES = ("female", "male")
SITES = ("upper_limb", "lower_limb", "bulbar")
# Onset delays (days) of contiguous spread by site of onset (assumed; upper-limb row as the
# bundled human-als scenario). Bulbar onset has no bulbar muscle in the model: the diaphragm,
# the nearest simulated region, stands in for the onset region.
SPREAD_DAYS = {
    "upper_limb": {"APB": 0, "ADM": 0, "FDI": 30, "biceps": 150, "deltoid": 170, "trapezius": 250, "diaphragm": 330, "TA": 420},
    "lower_limb": {
        "TA": 0,
        "biceps": 300,
        "deltoid": 320,
        "APB": 360,
        "ADM": 360,
        "FDI": 380,
        "trapezius": 350,
        "diaphragm": 400,
    },
    "bulbar": {"diaphragm": 0, "trapezius": 120, "deltoid": 200, "biceps": 220, "APB": 260, "ADM": 260, "FDI": 280, "TA": 450},
}
ONSET_MUSCLE = {
    "upper_limb": ("APB", "ADM", "FDI", "biceps", "deltoid"),
    "lower_limb": ("TA",),
    "bulbar": ("diaphragm", "trapezius"),
}
_MOUSE_KEYS = {"strain": str, "female_fraction": float, "midpoint_sd_days": float, "female_delay_days": float}
_HUMAN_KEYS = {"site_of_onset": dict, "age_mean": float, "age_sd": float, "progression_sd": float}


def check_population(species: str, pop: dict, fail) -> None:
    keys = _MOUSE_KEYS if species == "mouse" else _HUMAN_KEYS
    for k, v in pop.items():
        if k not in keys:
            fail(f"population: unknown key {k!r} for {species}; allowed: {', '.join(keys)}")
        if keys[k] is float and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0):
            fail(f"population: {k} must be a finite non-negative number, got {v!r}")
        if keys[k] is not float and not isinstance(v, keys[k]):
            fail(f"population: {k} must be a {keys[k].__name__}")
    if "strain" in pop and pop["strain"] not in MOUSE_STRAINS:
        fail(f"population: unknown strain {pop['strain']!r}; allowed: {', '.join(MOUSE_STRAINS)}")
    if not 0 <= pop.get("female_fraction", 0.5) <= 1:
        fail("population: female_fraction must be between 0 and 1")
    sites = pop.get("site_of_onset", {})
    for s, w in sites.items():
        if s not in SITES or isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            fail(f"population: site_of_onset takes non-negative weights for {', '.join(SITES)}; got {s!r} = {w!r}")
    if sites and sum(sites.values()) <= 0:
        fail("population: site_of_onset weights must not all be zero")


@dataclass(frozen=True)
class Subject:
    index: int
    seed: int
    arm: str
    covariates: dict
    scenario: Scenario
    genotype: Genotype
    enrol_offset_days: int
    unit_scale: dict  # muscle -> true units / model units (MUNE and unit counts)
    cmap_scale: dict  # muscle -> full / reduced healthy CMAP amplitude


def subject_seed(trial_seed: int, index: int) -> int:
    return int(np.random.SeedSequence(trial_seed, spawn_key=(index,)).generate_state(1, np.uint64)[0] >> np.uint64(1))


def allocate(trial) -> list[str]:
    """Arm of every subject: permuted blocks of the allocation ratio, from the trial seed only."""
    block = [arm for arm, w in trial.allocation.items() for _ in range(w)]
    rng = np.random.default_rng(np.random.SeedSequence(trial.seed, spawn_key=(2**31,)))
    return [block[i] for _ in range(trial.subjects_per_arm) for i in rng.permutation(len(block))]


def reduced_muscles(trial) -> tuple[dict, dict]:
    """Preset changes of the reduced-fidelity muscles and the unit scale factor of each."""
    changes, scale = {}, {}
    for m in trial.muscles:
        full = load_muscle(trial.species, m)
        if not trial.fibres_per_unit and not trial.max_units:
            scale[m] = 1.0
            continue
        units = min(full.n_units, trial.max_units) if trial.max_units else full.n_units
        per_unit = trial.fibres_per_unit or full.n_fibres / full.n_units
        fibres = int(min(full.n_fibres, round(units * per_unit)))
        ratio = (full.n_fibres / full.n_units) / (fibres / units)
        # The reduced muscle keeps the full muscle's cross-section (its fibres are a sparse sample
        # of the full one's), so depths, attenuation and latency dispersion at the electrode match.
        changes[m] = {
            "n_units": units,
            "n_fibres": fibres,
            "fibre_potential_mv": full.fibre_potential_mv * ratio,
            "packing_fraction": full.packing_fraction * fibres / full.n_fibres,
        }
        scale[m] = full.n_units / units
    return changes, scale


@cache
def cmap_scale(species: str, muscle: str, changes: tuple) -> float:
    """Healthy maximal CMAP of the full muscle over that of the reduced one (same seed).

    A reduced muscle is smaller, so its fibres lie closer to the electrode and cancel less; CMAP
    amplitudes of the reduced model are multiplied by this factor (computed once per process).
    """
    if not changes:
        return 1.0
    from endplate.muscle.anatomy import build_anatomy
    from endplate.muscle.cmap import maximal_cmap

    full = load_muscle(species, muscle)
    reduced = full.replace(**dict(changes))
    return maximal_cmap(build_anatomy(full, 0))["amplitude_mv"] / maximal_cmap(build_anatomy(reduced, 0))["amplitude_mv"]


def draw_subject(trial, index: int, arm: str) -> Subject:
    """Subject ``index`` of ``trial``: covariates, its genotype parameters and its scenario."""
    seed = subject_seed(trial.seed, index)
    rng = np.random.default_rng(seed)
    pop = trial.population
    muscle_set, scale = reduced_muscles(trial)
    base = genotype(trial.genotype)
    values = dict(base.values)
    delays: dict[str, int] = {}
    if trial.species == "mouse":
        strain = pop.get("strain", "B6SJL" if trial.genotype == "SOD1-G93A" else "C57BL6")
        base = genotype(MOUSE_STRAINS[strain]) if trial.genotype.startswith("SOD1") else base
        values = dict(base.values)
        female = rng.random() < pop.get("female_fraction", 0.5)
        shift = rng.normal(0.0, pop.get("midpoint_sd_days", 4.0)) + (pop.get("female_delay_days", 3.0) if female else 0.0)
        values["midpoint_day"] = base.values["midpoint_day"] + shift
        cov = {"sex": "female" if female else "male", "strain": strain, "midpoint_shift_days": shift}
        onset, end = [m for m in trial.muscles if m != "diaphragm"] or list(trial.muscles), None
    else:
        weights = pop.get("site_of_onset", {"upper_limb": 0.384, "lower_limb": 0.336, "bulbar": 0.221})
        sites = [s for s in SITES if weights.get(s, 0) > 0]
        w = np.array([weights[s] for s in sites], float)
        site = sites[rng.choice(len(sites), p=w / w.sum())]
        age = float(np.clip(rng.normal(pop.get("age_mean", 60.0), pop.get("age_sd", 11.0)), 30, 85))
        factor = float(rng.lognormal(0.0, pop.get("progression_sd", 0.35)) * np.exp(0.02 * (age - 60)))
        values["width_days"] = base.values["width_days"] / factor
        delays = {m: SPREAD_DAYS[site][m] for m in trial.muscles}
        first = [m for m in trial.muscles if m in ONSET_MUSCLE[site]]
        onset = first or [min(trial.muscles, key=lambda m: delays[m])]
        end = ["diaphragm"] if "diaphragm" in trial.muscles else None
        cov = {"site_of_onset": site, "age_years": age, "progression_factor": factor}
    scenario_name = {"mouse": "sod1-g93a", "human": "human-als"}[trial.species]
    sc = load_scenario(
        scenario_name,
        genotype=base.name,
        hypothesis=trial.hypothesis,
        muscles=list(trial.muscles),
        onset_muscles=onset,
        end_stage_muscles=end or [m for m in trial.muscles if m != "diaphragm"],
        onset_delay_days=delays,
        muscle_set=muscle_set,
        set={},
        probe_days=[],
        probe_muscle=trial.muscles[0],
        seed=seed % 2**31,
        start_day=0 if trial.species == "human" else 20,
        end_day=trial.max_days,
    )
    lo, hi = trial.start_days
    offset = int(rng.integers(lo, hi + 1))
    cmap = {m: cmap_scale(trial.species, m, tuple(sorted(muscle_set.get(m, {}).items()))) for m in trial.muscles}
    return Subject(index, seed, arm, cov, sc, dataclasses.replace(base, values=values), offset, scale, cmap)
