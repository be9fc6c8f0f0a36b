"""Virtual cohorts: individuals drawn from parameter distributions, and the reduced-fidelity muscles.

Each subject has its own seed, ``SeedSequence(trial seed, spawn_key=(index,))``, so what it is and
what happens to it never depend on which worker runs it or in which order. Arms are assigned by
permuted blocks drawn from the trial seed alone.

Distributions. Each subject's scenario takes the shipped calibration of its genotype (applied by
``load_scenario``; its ``genotype.*`` values too) and the between-subject random effects of
``SPREADS``, one distribution per parameter with its source; a trial's ``population`` table may
override each (``population`` keys in brackets). The values that set a spread from a published
spread are ``fit`` rows, checked by ``endplate validate`` (``therapy.placebo``):

- Mouse (SOD1-G93A): strain ``B6SJL`` or ``C57BL6`` picks the genotype preset; the disease
  midpoint of each animal is shifted by a normal random effect [``midpoint_sd_days``] set so that
  a virtual colony's end stage spreads as colonies do (D11 SD 10.3 days, D10 SD 11.2 days);
  B6SJL females start later by [``female_delay_days``] 4.9 days (females 132.8, males 127.9 days,
  D10's source, read); on C57BL/6 the sexes do not differ in survival (D09's source, read).
- Human (sporadic ALS): site of onset (upper limb, lower limb, bulbar; default weights 0.384 /
  0.336 / 0.221: limb 72 % and bulbar 22.1 % in the US National ALS Registry, H05 read; trunk or
  global onset, 6.1 %, is not simulated; the limb split 8:7 is assumed) sets which muscle goes
  first and the delays of contiguous spread; age at onset ~ normal(57.2, 12.3) years [``age_mean``,
  ``age_sd``] clipped to 20-90 (V03, read; the clip assumed); progression is a factor ``f`` =
  0.75 x lognormal(0, [``progression_sd``]) x exp(0.02 (age - 60)) that divides the drive's e-folding
  time (older patients progress faster, recalled), its spread set so that the ALSFRS-R-like slope
  spreads as in population cohorts (V01: mean 0.89 points per month, 95 % of patients 0.04-1.96).
  The same factor, over its median, shortens the delays of contiguous spread (``spread_speed``):
  fast progressors reach a second region sooner, which predicts short survival (Kimura 2012).

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

Unit loss. Each reduced fibre stands for ``represents`` fibres of the real muscle (the preset
value set here, about 9 in APB, 47 in TA). A unit's axon is lost at a hazard that grows with the
share of its terminals gone beyond a threshold; counted on a dozen fibres that share scatters far
more than in a real unit of hundreds, so reduced units crossed the threshold early: in the human
APB (16 anatomies, ``tests/statistical/test_reduced_fidelity.py``) the reduced muscle kept 0.85-0.94
of the full muscle's axons (mean 0.887) while the full one kept half to 95 % of them, and TA
(8 anatomies, the full one keeping 50-90 %) 0.86-0.93. The kernel now reads a reduced unit's share as the real unit's (its
simulated fibres plus the others' expected healthy and impaired NMJs, ``kernel._lost_fraction``):
0.94-0.99 (mean 0.975) in APB, 0.90-0.98 in TA. Known gap: once fewer than
half the units are left, the reduced muscle still keeps fewer, 0.81-0.92 of the full muscle's in
APB (0.81-0.86 before) and 0.79-0.89 in TA; the cause is not found (the trigger scatter is gone,
and without reinnervation the two agree, 0.92-1.0, so it lies in how reduced units enlarge).
Late-stage MUNE and unit counts of the cohort model therefore read low, by up to a fifth.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from endplate.disease.model import Genotype, genotype, with_changes
from endplate.disease.scenario import MAX_DAY, Scenario, load_scenario
from endplate.disease.spread import spread_delays
from endplate.muscle.presets import load_muscle

MOUSE_STRAINS = {"B6SJL": "SOD1-G93A", "C57BL6": "SOD1-G93A-C57BL6"}
SEXES = ("female", "male")
SITES = ("upper_limb", "lower_limb", "bulbar")
# A patient's onset delays come from the spread table every human scenario uses
# (presets/spread.toml, disease.spread.spread_delays), divided by the patient's spread speed. A
# trial without a muscle of the onset region (bulbar onset: the trials simulate no tongue) reads
# onset in its earliest muscle, the delays counted from that muscle (``patient_delays``).


@dataclass(frozen=True)
class Spread:
    """The between-subject distribution of one parameter, with where it came from.

    ``kind``: ``normal`` (``centre`` and ``sd`` in the parameter's unit, clipped to ``clip``) or
    ``lognormal`` (median ``centre``, ``sd`` of the natural log).
    """

    parameter: str
    kind: str
    centre: float
    sd: float
    source: str
    evidence: str
    why: str
    clip: tuple = (-math.inf, math.inf)

    def draw(self, rng: np.random.Generator, centre: float | None = None, sd: float | None = None) -> float:
        """One subject's value (``centre`` and ``sd`` override the defaults, as a trial's population may)."""
        c, s = (self.centre if centre is None else centre), (self.sd if sd is None else sd)
        if self.kind == "lognormal":
            return float(c * rng.lognormal(0.0, s))
        return float(np.clip(rng.normal(c, s), *self.clip))


SPREADS = {
    "midpoint_shift_days": Spread(
        "genotype.midpoint_day (shift)",
        "normal",
        0.0,
        9.0,
        "mgi4822033; solomon2011",
        "assumed",
        "set against D10 (survival SD 11.2 days) and D11 (end stage SD 10.3 days), fit rows: 60 virtual B6SJL "
        "mice of the calibrated animal give end stage 128.8 +- 10.6 days with 9 days (3.2 days without a "
        "shift, 8.6 with 7); where the spread comes from (copy number drift, litter, housing) is not modelled",
    ),
    "age_years": Spread(
        "age at onset",
        "normal",
        57.2,
        12.3,
        "brazil2015",
        "read",
        "mean +- SD of a population-based cohort (V03); clipped to 20-90 years (assumed)",
        (20.0, 90.0),
    ),
    "progression_factor": Spread(
        "progression factor (divides width_days)",
        "lognormal",
        0.75,
        0.8,
        "vaneijk_precision",
        "assumed",
        "median and spread set against the population-based ALSFRS-R slope distribution (V01, fit: mean 0.89 "
        "points per month, 95 % of patients 0.04-1.96, an SD of about 0.49). First set at median 1 and SD 0.6 "
        "(slope SD 0.47 pooled over 221 patients at four seeds); once the human length exponent became 0.5 "
        "(bulbar onset) the 40-patient placebo arm of validate gave mean slopes 1.14 and 1.26 at seeds 0 and 7 "
        "with SDs 0.31 and 0.43, so median and spread were refitted to V01: 0.75 and 0.8 give means 0.99 and "
        "1.06, SDs 0.37 and 0.51 and median survival 30.5 and 28.7 months (H04 20-48; 0.8 and 0.75 gave 1.01 "
        "and 1.14; 0.8 and 0.6 gave 1.03 and 1.13 with SD 0.30)",
    ),
}
# Females' delay of the disease midpoint by strain (days): B6SJL females live 4.9 days longer
# (132.8 vs 127.9 days, D10's source, read); on C57BL/6 the sexes do not differ in survival
# (Pfohl 2015 abstract, read).
FEMALE_DELAY_DAYS = {"B6SJL": 4.9, "C57BL6": 0.0}
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
            "represents": max(ratio, 1.0),
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


def _mouse_covariates(trial, rng: np.random.Generator) -> dict:
    """One animal's sex and disease-midpoint shift in days (``SPREADS``)."""
    pop = trial.population
    strain = _strain(trial)
    female = rng.random() < pop.get("female_fraction", 0.5)
    shift = SPREADS["midpoint_shift_days"].draw(rng, sd=pop.get("midpoint_sd_days"))
    shift += pop.get("female_delay_days", FEMALE_DELAY_DAYS[strain]) if female else 0.0
    return {"sex": "female" if female else "male", "strain": strain, "midpoint_shift_days": shift}


def _human_covariates(trial, rng: np.random.Generator) -> dict:
    """One patient's site of onset, age at onset (years) and progression factor (``SPREADS``)."""
    pop = trial.population
    weights = pop.get("site_of_onset", {"upper_limb": 0.384, "lower_limb": 0.336, "bulbar": 0.221})
    sites = [s for s in SITES if weights.get(s, 0) > 0]
    w = np.array([weights[s] for s in sites], float)
    site = sites[rng.choice(len(sites), p=w / w.sum())]
    age = SPREADS["age_years"].draw(rng, pop.get("age_mean"), pop.get("age_sd"))
    factor = SPREADS["progression_factor"].draw(rng, sd=pop.get("progression_sd")) * float(np.exp(0.02 * (age - 60)))
    return {"site_of_onset": site, "age_years": age, "progression_factor": factor}


def spread_speed(cov: dict) -> float:
    """How much faster than the median patient this patient's disease spreads between regions.

    One speed per patient: the progression factor that shortens the drive's e-folding time also
    shortens the delays of contiguous spread, relative to the median patient (whose delays are the
    spread table's, ``patient_delays``). Patients whose disease reaches a second region sooner die sooner: the interval
    from onset to the second region predicts survival (Kimura 2012 Rinsho Shinkeigaku 52:1062,
    n = 150, read, abstract; Fujimura-Kiyono et al. 2011, literature.csv M117-M119). With the spread
    fixed in days, survival from onset spread far less than in registers (log-survival SD 0.33-0.45 in
    the 40-patient placebo arm at seeds 0 and 7; 87-89 % of patients within half to twice the median,
    V05 50 % or fewer). A mouse (no progression factor) and the median patient: 1.
    """
    if "progression_factor" not in cov:
        return 1.0
    return float(cov["progression_factor"]) / SPREADS["progression_factor"].centre


def _with_effects(values: dict, cov: dict) -> dict:
    """Genotype values with a subject's random effects: the midpoint shift (mouse), the progression factor (human)."""
    out = dict(values)
    if "midpoint_shift_days" in cov:
        out["midpoint_day"] += cov["midpoint_shift_days"]
    if "progression_factor" in cov:
        out["width_days"] /= cov["progression_factor"]
    return out


def _strain(trial) -> str:
    return trial.population.get("strain", "B6SJL" if trial.genotype == "SOD1-G93A" else "C57BL6")


def patient_delays(site: str, muscles, speed: float = 1.0) -> dict[str, float]:
    """Onset delay (days) of each of ``muscles`` for a patient with onset at ``site`` and spread ``speed``.

    The spread table's delays (``disease.spread.spread_delays``), counted from the earliest of
    ``muscles`` (0 when the onset region is simulated; bulbar onset in a trial without a tongue
    starts in its earliest muscle), divided by ``speed``.
    """
    d = spread_delays("human", site, list(muscles))
    first = min(d.values())
    return {m: (v - first) / speed for m, v in d.items()}


def _scenario(trial, seed: int, site: str, muscle_set: dict, speed: float = 1.0) -> Scenario:
    """The subject's scenario: the species' bundled one with the trial's muscles and, for a patient, the spread from ``site``.

    ``speed``: the patient's progression factor over its median (``spread_speed``); the delays of
    contiguous spread are divided by it.

    Subjects of a trial differ only in their seed and, for patients, their delays: the scenario is
    read and checked once per site (``_base_scenario``) and each subject's is that one with its own
    seed and delays (equal to loading it afresh, and about a fifteenth of a patient's time less).
    A delay outside the range a scenario allows is loaded afresh, for the same error.
    """
    if trial.species == "mouse":
        name = MOUSE_STRAINS[_strain(trial)] if trial.genotype.startswith("SOD1") else trial.genotype
        onset = [m for m in trial.muscles if m != "diaphragm"] or list(trial.muscles)
        end = onset
        delays: dict[str, float] | None = None
    else:
        # the scenario's site of onset picks the onset muscles (its region's, or the earliest)
        name, onset = trial.genotype, []
        end = ["diaphragm"] if "diaphragm" in trial.muscles else [m for m in trial.muscles if m != "diaphragm"]
        delays = patient_delays(site, trial.muscles, speed)
    args = (trial.species, name, trial.hypothesis, tuple(trial.muscles), tuple(onset), tuple(end), site, trial.max_days)
    if delays is not None and not all(abs(d) <= MAX_DAY for d in delays.values()):
        return _load_subject_scenario(*args, muscle_set, seed, delays)
    base = _base_scenario(*args, muscle_set)
    subject = dataclasses.replace(base, seed=seed % 2**31)
    return subject if delays is None else dataclasses.replace(subject, onset_delay_days=delays)


_BASE_SCENARIOS: dict[tuple, Scenario] = {}


def _base_scenario(species, name, hypothesis, muscles, onset, end, site, max_days, muscle_set) -> Scenario:
    """The scenario of a trial's subjects from ``site`` with seed 0 and the median patient's delays
    (cached by its arguments, the table ``muscle_set`` by its text)."""
    key = (species, name, hypothesis, muscles, onset, end, site, max_days, repr(muscle_set))
    if key not in _BASE_SCENARIOS:
        delays = patient_delays(site, muscles, 1.0) if species == "human" else None
        _BASE_SCENARIOS[key] = _load_subject_scenario(
            species, name, hypothesis, muscles, onset, end, site, max_days, muscle_set, 0, delays
        )
    return _BASE_SCENARIOS[key]


def _load_subject_scenario(species, name, hypothesis, muscles, onset, end, site, max_days, muscle_set, seed, delays) -> Scenario:
    spread: dict[str, Any] = {} if delays is None else {"onset_site": site, "onset_delay_days": delays}
    return load_scenario(
        {"mouse": "sod1-g93a", "human": "human-als"}[species],
        genotype=name,
        hypothesis=hypothesis,
        muscles=list(muscles),
        onset_muscles=list(onset),
        end_stage_muscles=list(end),
        **spread,
        muscle_set=muscle_set,
        set={},
        probe_days=[],
        probe_muscle=muscles[0],
        seed=seed % 2**31,
        start_day=0 if species == "human" else 20,
        end_day=max_days,
    )


def draw_subject(trial, index: int, arm: str) -> Subject:
    """Subject ``index`` of ``trial``: covariates, its genotype parameters and its scenario.

    The genotype starts from the scenario's (its shipped calibration included, so a cohort animal
    is the calibrated animal before its random effects) and takes the subject's random effects.
    """
    seed = subject_seed(trial.seed, index)
    rng = np.random.default_rng(seed)
    muscle_set, scale = reduced_muscles(trial)
    cov = (_mouse_covariates if trial.species == "mouse" else _human_covariates)(trial, rng)
    sc = _scenario(trial, seed, cov.get("site_of_onset", ""), muscle_set, spread_speed(cov))
    base = with_changes(genotype(sc.genotype), sc.set)
    values = _with_effects(base.values, cov)
    lo, hi = trial.start_days
    offset = int(rng.integers(lo, hi + 1))
    cmap = {m: cmap_scale(trial.species, m, tuple(sorted(muscle_set.get(m, {}).items()))) for m in trial.muscles}
    return Subject(index, seed, arm, cov, sc, dataclasses.replace(base, values=values), offset, scale, cmap)
