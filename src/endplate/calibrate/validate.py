"""Score the model against published values, each through an observation model.

Each check states how the published number was measured (which protocol, bath, species, what
statistic) and a tolerance band; recalled values get wide bands. ``validate`` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from endplate.calibrate import observation as observation_readers
from endplate.calibrate.targets import load_targets
from endplate.junction import epp, mepp, paired_pulse, rns, sfemg, train
from endplate.junction.parameters import default_parameters
from endplate.junction.perturbations import apply_perturbations
from endplate.junction.population import make_population
from endplate.kernels import run_train
from endplate.scorecard import Check
from endplate.seeding import substreams

if TYPE_CHECKING:
    from endplate.disease.simulate import Run


def _mouse(*perturb: str):
    return apply_perturbations(default_parameters("mouse"), perturb)


def _human(*perturb: str):
    return apply_perturbations(default_parameters("human"), perturb)


def _ratio(fn, perturbation: str, quantity: str, **kw) -> Callable[[int], float]:
    """Prediction = quantity with a perturbation over quantity in wild type (same seed)."""
    return lambda seed: float(fn(_mouse(perturbation), seed=seed, **kw)[quantity] / fn(_mouse(), seed=seed, **kw)[quantity])


def recovery_tau_ms(seed: int) -> float:
    """Depress with 100 stimuli at 50 Hz, then probe recovery; fit an exponential to the deficit."""
    from scipy.optimize import curve_fit

    params = _mouse()
    streams = substreams(seed, "population", *[f"probe{i}" for i in range(8)])
    pop = make_population(params, 400, streams["population"])
    delays = np.array([100, 300, 1000, 2000, 4000, 8000, 16000, 30000.0])
    first = run_train(pop, pop.rested_state(), [np.inf], streams["probe0"], record=False).mean_epp_mv[0]
    recovered = []
    for i, d in enumerate(delays):
        rec = run_train(pop, pop.rested_state(), [np.inf] + [20.0] * 99 + [d], streams[f"probe{i}"], record=False)
        recovered.append(rec.mean_epp_mv[-1] / first)
    deficit = 1 - np.array(recovered)
    (a, tau), _ = curve_fit(lambda t, a, tau: a * np.exp(-t / tau), delays, deficit, p0=(deficit[0], 3000.0))
    return float(tau)


def human_train_3hz(seed: int) -> dict:
    """A 3 Hz train of 10 stimuli in 500 human junctions: the rundown and where it is deepest."""
    t = train.train(_human(), frequency_hz=3, n_stimuli=10, n_junctions=500, seed=seed)
    epp_mv = t["epp_mv"].values
    smallest = int(np.argmin(epp_mv))
    return {
        "fall_percent": float(100 * (1 - epp_mv[smallest] / epp_mv[0])),
        "smallest_stimulus": float(smallest + 1),
        "fraction_released": float(t["quanta"].values[0] / t["true_rrp"]),
    }


def block_onset_occupancy(seed: int) -> float:
    """Paton & Waud: AChR occupancy (fraction blocked) at which single-stimulus transmission starts to fail.

    Receptor block scales quantal size; the onset is where 5 % of fibres fail on a single
    stimulus, found by bisection over the blocked fraction.
    """
    lo, hi = 0.0, 0.99
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        params = _mouse().replace(achr_density_relative=1 - mid)
        s = substreams(seed, "population", "train")
        pop = make_population(params, 2000, s["population"])
        failed = 1 - run_train(pop, pop.rested_state(), [np.inf], s["train"], record=False).fired_fraction[0]
        lo, hi = (mid, hi) if failed < 0.05 else (lo, mid)
    return 0.5 * (lo + hi)


CHECKS: tuple[Check, ...] = (
    Check(
        "J13",
        "mouse quantal content, direct method, 2 mM Ca",
        35,
        70,
        "recalled band of J13",
        lambda s: float(epp.epp(_mouse(), seed=s)["quantal_content"]),
    ),
    Check(
        "J11", "mouse mEPP amplitude", 0.5, 1.5, "recalled band of J11", lambda s: float(mepp.mepp(_mouse(), seed=s)["mepp_mv"])
    ),
    Check(
        "J12", "mouse mEPP frequency", 0.5, 3.0, "recalled band of J12", lambda s: float(mepp.mepp(_mouse(), seed=s)["mepp_hz"])
    ),
    Check(
        "J16",
        "mouse safety factor (EPP / threshold depolarisation)",
        3.0,
        5.0,
        "secondary band of J16",
        lambda s: float(epp.epp(_mouse(), seed=s)["safety_factor"]),
    ),
    Check(
        "J14",
        "mouse 20 Hz train plateau (fraction of first EPP)",
        0.5,
        0.7,
        "recalled band of J14",
        lambda s: float(train.train(_mouse(), frequency_hz=20, seed=s)["plateau_ratio"]),
    ),
    Check(
        "J14",
        "mouse 50 Hz train plateau (fraction of first EPP)",
        0.5,
        0.7,
        "recalled band of J14",
        lambda s: float(train.train(_mouse(), frequency_hz=50, seed=s)["plateau_ratio"]),
    ),
    Check("J15", "mouse recovery time constant after a 50 Hz train (ms)", 2000, 10000, "recalled band of J15", recovery_tau_ms),
    Check(
        "J08",
        "mouse low-Ca paired-pulse facilitation F(0)",
        0.35,
        0.65,
        "read value 0.5, +-30 % for fit uncertainty",
        lambda s: float(paired_pulse.paired_pulse(_mouse("low_calcium"), seed=s)["facilitation_f0"]),
    ),
    Check(
        "J09",
        "mouse facilitation fast time constant (ms)",
        20,
        55,
        "read value 35 ms, +-~50 % for fit uncertainty",
        lambda s: float(paired_pulse.paired_pulse(_mouse("low_calcium"), seed=s)["tau_fast_ms"]),
    ),
    Check(
        "J10",
        "mouse facilitation slow time constant (ms)",
        100,
        260,
        "read value 163 ms, +-~50 % for fit uncertainty",
        lambda s: float(paired_pulse.paired_pulse(_mouse("low_calcium"), seed=s)["tau_slow_ms"]),
    ),
    Check(
        "J17",
        "AChR fraction blocked when transmission starts to fail",
        0.6,
        0.85,
        "read 0.71-0.81 in cat; widened for species (mouse model)",
        block_onset_occupancy,
    ),
    Check(
        "L59",
        "human quantal content, direct method",
        15,
        30,
        "recalled band of L59",
        lambda s: float(epp.epp(_human(), seed=s)["quantal_content"]),
    ),
    Check(
        "E01",
        "human SFEMG jitter, voluntary 10 Hz, mean MCD (us)",
        10,
        35,
        "upper limit of normal 35 us (E01)",
        lambda s: float(sfemg.sfemg(_human(), rate_hz=10, voluntary=True, n_pairs=40, seed=s)["mcd_us"]),
    ),
    Check(
        "L24",
        "human jitter, healthy mean MCD (us)",
        20.8,
        34.0,
        "mean +- 2 SD of controls (L24)",
        lambda s: float(sfemg.sfemg(_human(), rate_hz=10, voluntary=True, n_pairs=40, seed=s)["mcd_us"]),
    ),
    Check(
        "E03",
        "human 3 Hz RNS decrement, 4th vs 1st (%)",
        -10,
        10,
        "normal below 10 % (E03)",
        lambda s: float(rns.rns(_human(), frequency_hz=3, seed=s)["decrement_percent"]),
    ),
    Check(
        "N04",
        "human safety factor (EPP / threshold depolarisation)",
        1.8,
        3.5,
        "recalled band of N04",
        lambda s: float(epp.epp(_human(), seed=s)["safety_factor"]),
    ),
    Check(
        "N03",
        "human fraction of the releasable store released by the first impulse",
        0.08,
        0.3,
        "recalled band of N03",
        lambda s: human_train_3hz(s)["fraction_released"],
    ),
    Check(
        "N01",
        "human 3 Hz train: fall of the EPP to its smallest (%)",
        15,
        35,
        "recalled band of N01",
        lambda s: human_train_3hz(s)["fall_percent"],
    ),
    Check(
        "N02",
        "human 3 Hz train: stimulus with the smallest EPP",
        4,
        5,
        "recalled 4th-5th (N02)",
        lambda s: human_train_3hz(s)["smallest_stimulus"],
    ),
    Check(
        "J22",
        "SOD1-G93A presymptomatic / wild-type quantal content",
        1.05,
        3.0,
        "direction read (larger)",
        _ratio(epp.epp, "sod1_presymptomatic", "quantal_content"),
    ),
    Check(
        "J22",
        "SOD1-G93A presymptomatic / wild-type mEPP amplitude",
        1.02,
        2.0,
        "direction read (larger)",
        _ratio(mepp.mepp, "sod1_presymptomatic", "mepp_mv"),
    ),
    Check(
        "J23",
        "SOD1-G93A presymptomatic / wild-type 20 Hz plateau",
        0.0,
        0.95,
        "direction read (not sustained)",
        _ratio(train.train, "sod1_presymptomatic", "plateau_ratio", frequency_hz=20),
    ),
    Check(
        "J23",
        "SOD1-G93A early symptomatic / wild-type EPP amplitude",
        0.0,
        0.95,
        "direction read (smaller)",
        _ratio(epp.epp, "sod1_early_symptomatic", "epp_mv"),
    ),
    Check(
        "J23",
        "SOD1-G93A early symptomatic / wild-type mEPP amplitude",
        0.0,
        0.95,
        "direction read (smaller)",
        _ratio(mepp.mepp, "sod1_early_symptomatic", "mepp_mv"),
    ),
)


def _muscle(species: str, name: str, seed: int, junction_params=None):
    from endplate.muscle.protocols import muscle

    return muscle(species, name, seed, junction_params)


def _cmap_amplitude(species: str, name: str) -> Callable[[int], float]:
    from endplate.muscle.cmap import maximal_cmap

    return lambda seed: maximal_cmap(_muscle(species, name, seed), seed)["amplitude_mv"]


MUNE_SUBJECTS = 9


def _mune(name: str, method: str, key: str = "estimate") -> Callable[[int], float]:
    """Median estimate (or ``key``) of ``MUNE_SUBJECTS`` simulated healthy subjects (one muscle each).

    A single estimate scatters widely from subject to subject and between repeats, as in the
    clinic; the median of a small group is compared with the published normal range.
    """
    from endplate.muscle.mune import mune

    def predict(seed: int) -> float:
        subjects = range(seed * MUNE_SUBJECTS, (seed + 1) * MUNE_SUBJECTS)
        return float(np.median([mune(_muscle("human", name, s), method, s)[key] for s in subjects]))

    return predict


def _or_nan(value: float | None) -> float:
    """A readout as validate scores it: an undefined one (None) is NaN, a failed check."""
    return float("nan") if value is None else float(value)


def _fibre_density(name: str) -> Callable[[int], float]:
    from endplate.muscle.sfemg import fibre_density

    return lambda seed: _or_nan(fibre_density(_muscle("human", name, seed), seed))


_RNS: dict = {}
_APB: dict = {}


def _apb_rns(condition: str, seed: int, frequency_hz: float = 3.0, n_stimuli: int = 10) -> dict:
    """RNS of a human APB with healthy, myasthenic (60 % AChR loss) or LEMS-like junctions (cached)."""
    from endplate.muscle.rns import muscle_rns

    key = (condition, seed, frequency_hz, n_stimuli)
    if key not in _RNS:
        params = {"healthy": _human(), "myasthenic": _human().replace(achr_density_relative=0.4), "lems": _human("lems")}[
            condition
        ]
        if (condition, seed) not in _APB:
            _APB[(condition, seed)] = _muscle("human", "APB", seed, params)
        _RNS[key] = muscle_rns(_APB[(condition, seed)], frequency_hz, n_stimuli, seed)
    return _RNS[key]


def _undefined_as_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


MUSCLE_CHECKS: tuple[Check, ...] = (
    Check(
        "E07",
        "human APB maximal CMAP, median nerve (mV)",
        4.6,
        11.8,
        "5th-95th percentile (E07)",
        _cmap_amplitude("human", "APB"),
    ),
    Check("M38", "human ADM maximal CMAP, ulnar nerve (mV)", 5.0, 14.2, "mean +- 2 SD (M38)", _cmap_amplitude("human", "ADM")),
    Check("M39", "human FDI maximal CMAP, ulnar nerve (mV)", 4.0, 20.0, "mean +- 2 SD (M39)", _cmap_amplitude("human", "FDI")),
    Check(
        "M45",
        "human diaphragm CMAP, phrenic nerve (mV)",
        0.24,
        1.11,
        "range of normal across M45-M48",
        _cmap_amplitude("human", "diaphragm"),
    ),
    Check(
        "E03",
        "human APB 3 Hz RNS CMAP decrement, fibre by fibre (%)",
        -10,
        10,
        "normal below 10 % (E03)",
        lambda s: _undefined_as_nan(_apb_rns("healthy", s)["decrement_percent"]),
    ),
    Check(
        "N05",
        "human APB 3 Hz decrement, healthy junctions (%)",
        -10,
        10,
        "normal up to 10 % (N05)",
        lambda s: _undefined_as_nan(_apb_rns("healthy", s)["decrement_percent"]),
    ),
    Check(
        "N06",
        "human APB 3 Hz decrement with 60 % AChR loss (myasthenic, %)",
        10,
        100,
        "abnormal above 10 % (N06); the AChR loss is an assumed generalized-MG size",
        lambda s: _undefined_as_nan(_apb_rns("myasthenic", s)["decrement_percent"]),
    ),
    Check(
        "N07",
        "same: response with the smallest CMAP",
        4,
        5,
        "read 4th or 5th (N07)",
        lambda s: float(np.argmin(_apb_rns("myasthenic", s)["cmap_mv"]) + 1),
    ),
    Check(
        "N08",
        "human APB first CMAP with LEMS-like junctions (% of healthy)",
        0,
        50,
        "small, often under 10 % (N08)",
        lambda s: float(100 * _apb_rns("lems", s)["cmap_mv"][0] / _apb_rns("healthy", s)["cmap_mv"][0]),
    ),
    Check(
        "N09",
        "same: 50 Hz increment, largest vs first CMAP (%)",
        100,
        10000,
        "at least twice the first (N09)",
        lambda s: float(
            100 * (np.max(_apb_rns("lems", s, 50.0, 50)["cmap_mv"]) / _apb_rns("lems", s, 50.0, 50)["cmap_mv"][0] - 1)
        ),
    ),
    Check("M11", "human APB MUNE by CMAP-scan fit", 60, 210, "MScanFit mean +- 2 SD (M11)", _mune("APB", "scanfit")),
    Check("M04", "human APB MUNIX", 103, 279, "mean +- 2 SD (M04)", _mune("APB", "munix")),
    Check("M114", "human APB MUSIX (uV)", 35.4, 85.4, "mean +- 2 SD (M114)", _mune("APB", "munix", "musix_uv")),
    Check("M69", "human thenar MUNE by incremental stimulation", 185, 321, "mean +- 2 SD (M69)", _mune("APB", "incremental")),
    Check("M86", "human TA SFEMG fibre density", 1.2, 2.0, "recalled 1.6, wide band", _fibre_density("TA")),
    Check("M87", "human biceps SFEMG fibre density", 1.0, 1.8, "recalled 1.3, wide band", _fibre_density("biceps")),
)


_POST_EXERCISE: dict = {}


def _post_exercise(condition: str, seed: int, conditioning_s: float = 10.0) -> dict:
    """The post-exercise RNS session (junction.post_exercise, 2000 fibres) of human junctions that are
    myasthenic (60 % AChR loss, as N06) or LEMS-like; a 30 Hz tetanus of ``conditioning_s`` stands for
    maximal voluntary effort (cached)."""
    from endplate.junction.post_exercise import post_exercise

    key = (condition, seed, conditioning_s)
    if key not in _POST_EXERCISE:
        params = {"myasthenic": _human().replace(achr_density_relative=0.4), "lems": _human("lems")}[condition]
        ds = post_exercise(params, seed=seed, conditioning_s=conditioning_s)
        _POST_EXERCISE[key] = {name: ds[name].values for name in ds.data_vars}
    return _POST_EXERCISE[key]


# Post-tetanic phenomena as the EMG lab measures them (test rows: nothing is tuned to them).
POST_EXERCISE_CHECKS: tuple[Check, ...] = (
    Check(
        "N11",
        "human LEMS-like junctions: first CMAP increment right after 10 s of conditioning (%)",
        100,
        10000,
        "the 100 % criterion (N11)",
        lambda s: float(_post_exercise("lems", s)["post_exercise_increment_percent"]),
    ),
    Check(
        "N12",
        "same, against the published post-exercise increment (%)",
        84,
        244,
        "84 % after 30 s to 244 % after 5 s of exercise (N12)",
        lambda s: float(_post_exercise("lems", s)["post_exercise_increment_percent"]),
    ),
    Check(
        "N24",
        "human 60 % AChR loss: 3 Hz decrement right after 10 s of conditioning over the resting one",
        0,
        0.99,
        "reduced or abolished (N24)",
        lambda s: float(
            _post_exercise("myasthenic", s)["decrement_percent"][1] / _post_exercise("myasthenic", s)["decrement_percent"][0]
        ),
    ),
    Check(
        "N22",
        "same: deepest 3 Hz decrement 2-4 min after 1 min of conditioning, minus the resting one (points)",
        0.5,
        100,
        "deeper than at rest (N22; mean worsening 1.9 points in N23); the model has no exhaustion mechanism",
        lambda s: float(_post_exercise("myasthenic", s, 60.0)["exhaustion_points"]),
    ),
)


# Published disease values the model cannot predict yet, and why (reported by validate).
NOT_MODELLED = {
    "D17": "an input, not a prediction: it sets the low FF and FR sprouting competence of SOD1 mice",
    "H05": "an input, not a prediction: it sets the trial cohorts' site-of-onset weights (each run has one site)",
    "H06": "cortical excitability is not simulated",
}

_RUNS: dict = {}


def _run(name: str, seed: int, **changes) -> Run:
    """One simulated animal per (scenario, seed, changes), shared by the checks that read it."""
    from endplate.disease.scenario import load_scenario
    from endplate.disease.simulate import simulate

    key = (name, seed, repr(sorted(changes.items())))
    if key not in _RUNS:
        _RUNS.clear() if len(_RUNS) > 8 else None
        _RUNS[key] = simulate(load_scenario(name, seed=seed, **changes))
    return _RUNS[key]


def _read(name: str, reader: Callable[[Run], float], **changes) -> Callable[[int], float]:
    """Prediction = an observation reader (calibrate.observation) applied to one simulated run."""
    return lambda seed: float(reader(_run(name, seed, **changes)))


def _human_run_changes() -> dict:
    # Hand and diaphragm only, the diaphragm scaled down tenfold: the course of each fibre does not
    # depend on the muscle's size, and this keeps validation fast.
    # A biceps scaled down likewise stands for the limb region of the ALSFRS-R-like composite (H02);
    # with a TA scaled down likewise, the hand muscles and biceps stand for the six-muscle MUNIX sum (H01).
    return dict(
        muscles=["APB", "FDI", "biceps", "TA", "diaphragm"],
        onset_muscles=["APB", "FDI"],  # onset delays: the scenario's site of onset (presets/spread.toml)
        probe_days=[],
        probe_muscle="APB",
        mune_every_days=30,
        readout_every_days=365,
        muscle_set={
            "diaphragm": {"n_units": 100, "n_fibres": 30000},
            "biceps": {"n_units": 100, "n_fibres": 30000},
            "TA": {"n_units": 100, "n_fibres": 30000},
        },
    )


def _dismantling(seed: int) -> dict:
    key = ("dismantling", seed)
    if key not in _RUNS:
        _RUNS[key] = observation_readers.unit_dismantling("sod1-g93a", seed)
    return _RUNS[key]


def _human_read(reader: Callable[[Run], float]) -> Callable[[int], float]:
    return _read("human-als", reader, **_human_run_changes())


def _bulbar_run_changes() -> dict:
    """The validation patient with onset in the tongue: the same muscles plus a genioglossus (scaled down as the diaphragm)."""
    base = _human_run_changes()
    return {
        **base,
        "muscles": ["genioglossus", *base["muscles"]],
        "onset_site": "bulbar",
        "onset_muscles": ["genioglossus"],
        "muscle_set": {**base["muscle_set"], "genioglossus": {"n_units": 100, "n_fibres": 10000}},
    }


def _survival_by_site_difference(seed: int) -> float:
    """Months of survival from onset lost with bulbar rather than upper-limb onset (H07)."""
    survival = _nan_if_censored(O.survival_months_from_onset, *_ONSET, *_END)
    limb = survival(_run("human-als", seed, **_human_run_changes()))
    bulbar = survival(_run("human-als", seed, **_bulbar_run_changes()))
    return float(limb - bulbar)


def _nan_if_censored(reader: Callable[[Run], float], *keys: str) -> Callable[[Run], float]:
    """validate reports an event that never happened as NaN (a failed check), not as a censored day."""
    return lambda r: float("nan") if any(getattr(r, k) is None for k in keys) else reader(r)


O = observation_readers  # noqa: E741 (short alias for the table below)
_ONSET, _END = ("onset_day",), ("end_stage_day",)

DISEASE_CHECKS: tuple[Check, ...] = (
    Check(
        "D08",
        "SOD1-G93A B6SJL onset day (hindlimb force below 40 %)",
        93.3,
        106.5,
        "mean +- 3 SE (D08)",
        _read("sod1-g93a", _nan_if_censored(lambda r: O.event_day(r, "onset_day"), *_ONSET)),
    ),
    Check(
        "D09",
        "SOD1-G93A C57BL/6 onset day",
        102.7,
        120.1,
        "mean +- 3 SE (D09)",
        _read("sod1-g93a-c57bl6", _nan_if_censored(lambda r: O.event_day(r, "onset_day"), *_ONSET)),
    ),
    Check(
        "D11",
        "SOD1-G93A both hindlimbs paralysed (day)",
        113.6,
        134.2,
        "mean +- SD (D11)",
        _read("sod1-g93a", _nan_if_censored(lambda r: O.event_day(r, "end_stage_day"), *_END)),
    ),
    Check(
        "D03",
        "SOD1-G93A gastrocnemius endplates denervated at P47 (%)",
        20,
        60,
        "recalled 40 %, wide band",
        _read("sod1-g93a", lambda r: O.day_value(r, ("MG",), "denervated_percent", 47)),
    ),
    Check(
        "D04",
        "SOD1-G93A gastrocnemius endplates denervated at P80 (%)",
        40,
        80,
        "recalled 60 %, wide band",
        _read("sod1-g93a", lambda r: O.day_value(r, ("MG",), "denervated_percent", 80)),
    ),
    Check(
        "D02",
        "SOD1-G93A lumbar motor neurons lost or degenerating at P60 (%)",
        5,
        35,
        "read 20 %; loss here, degeneration there",
        _read("sod1-g93a", lambda r: O.lost_percent(r, ("TA",), "motor_neurons_percent", 60)),
    ),
    Check(
        "D12",
        "SOD1-G93A lumbar motor neurons lost at end stage (%)",
        30,
        70,
        "recalled 50 %, wide band",
        _read("sod1-g93a", lambda r: O.motor_neurons_lost_at_end_stage(r, O.HINDLIMB)),
    ),
    Check(
        "D13",
        "SOD1-G93A upper motor neurons of the hindlimb pools lost at P110, under independent (%)",
        38,
        68,
        "read 53 %; +-15 points. Checked under the calibration's winner: dying back alone has no cortical process and loses none",
        _read("sod1-g93a", lambda r: O.lost_percent(r, O.HINDLIMB, "upper_motor_neurons_percent", 110), hypothesis="independent"),
    ),
    Check(
        "D01",
        "SOD1-G93A loss of TA NMJ innervation at P30 (%)",
        25,
        55,
        "read 40 % of wild-type; +-15 points",
        _read("sod1-g93a", lambda r: O.lost_percent(r, ("TA",), "innervated_percent", 30)),
    ),
    Check(
        "H02",
        "human ALSFRS-R-like composite decline over the year after onset (points per month)",
        0.4,
        2.5,
        "read mean 1.02 (SD 2.3 between patients): a band of typical progressors",
        _human_read(_nan_if_censored(O.alsfrs_decline_per_month, *_ONSET)),
    ),
    Check(
        "H04",
        "human ALS survival from onset (months)",
        20,
        48,
        "range across cohorts (H04)",
        _human_read(_nan_if_censored(O.survival_months_from_onset, *_ONSET, *_END)),
    ),
    Check(
        "H07",
        "human ALS survival from onset, upper-limb minus bulbar onset (months)",
        1,
        15,
        "read 33 - 26 = 7 months (H07): shorter with bulbar onset, by months",
        _survival_by_site_difference,
    ),
    Check(
        "D10",
        "SOD1-G93A survival (day)",
        119.0,
        141.4,
        "mean +- SD (D10)",
        _read("sod1-g93a", _nan_if_censored(O.survival_day, *_END)),
    ),
    Check(
        "D05",
        "SOD1-G93A hindlimb motor neurons lost at P100 (%)",
        10,
        60,
        "recalled: loss becomes significant by P100",
        _read("sod1-g93a", lambda r: O.lost_percent(r, O.HINDLIMB, "motor_neurons_percent", 100)),
    ),
    Check(
        "D07",
        "SOD1-G93A day half the TA FF axons are gone",
        40,
        65,
        "recalled: abrupt loss of FF synapses about P50",
        _read("sod1-g93a", lambda r: O.axon_half_day(r, "TA", 2)),
    ),
    Check(
        "D06",
        "SOD1-G93A days from FF to FR axon loss (half of each, TA)",
        10,
        100,
        "order read (FF, then FR, S last)",
        _read("sod1-g93a", lambda r: O.ff_to_fr_days(r, "TA")),
    ),
    Check(
        "D14",
        "mean enlargement of survivors 90 days after losing the units of 85 % of the fibres (fold)",
        5,
        8,
        "read 6.5 (5-8) maximal enlargement",
        lambda s: O.partial_denervation_enlargement(s, 90),
    ),
    Check(
        "D15",
        "same, 7 days after (percent of initial size)",
        150,
        300,
        "read 222 % of control twitch (rat)",
        lambda s: 100 * O.partial_denervation_enlargement(s, 7),
    ),
    Check(
        "D16",
        "SOD1-G93A TA FF units: median days from a unit's first to its last lost NMJ",
        14,
        90,
        "read: dismantling is asynchronous over weeks (G37R, imaged units); two weeks or more",
        lambda s: _dismantling(s)["median_days"],
    ),
    Check(
        "D16",
        "same units: fraction that take over NMJs while losing their own",
        0.1,
        1.0,
        "read: branch loss with concurrent sprouting onto nearby NMJs; at least one unit in ten",
        lambda s: _dismantling(s)["concurrent_fraction"],
    ),
    Check(
        "H03",
        "human: completely denervated endplates in onset muscles at onset (%)",
        10,
        35,
        "read 19.7 % in early ALS biopsies (H03)",
        _human_read(_nan_if_censored(lambda r: O.at_onset(r, ("APB", "FDI"), "denervated_percent"), *_ONSET)),
    ),
    Check(
        "H01",
        "human MUNE decline over the year after onset, six-muscle sum (% per month)",
        1.5,
        6.0,
        "read 3.2 (single muscles 2.4-4.2) for the MUNIX sum of APB, ADM, biceps, TA, EDB and AH (H01); "
        "MPS here, APB and FDI for the hand muscles, biceps, TA three times for the lumbosacral ones, "
        "each weighted equally as MUNIX indices are",
        _human_read(_nan_if_censored(lambda r: O.mune_decline_percent_per_month(r, O.SIX_MUSCLE_SUM), *_ONSET)),
    ),
    Check(
        "H08",
        "human MUNE decline over the year before weakness, onset muscles APB and FDI (% per month)",
        2.5,
        7.5,
        "read 5.0 for MUNIX in clinically strong muscles before they weakened (H08); MPS here; "
        "the band is the fit row's spread (2.5, assumed): units are lost while function holds. The hand-set "
        "values read 3.8 at seed 0 and 2.4 at seed 7 (1.4-2.5 at seeds 1-3): units go too slowly before "
        "weakness, too little of the loss is hidden by reinnervation; the refit applied on 2 December 2026 reads "
        "3.9 / 3.7 (docs/calibration.md)",
        _human_read(_nan_if_censored(lambda r: O.mune_decline_before_weakness(r, ("APB", "FDI")), *_ONSET)),
    ),
    Check(
        "L69",
        "human: true motor units of the onset muscles APB and FDI 12 months before weakness (% of start)",
        85,
        105,
        "read: serial MUNE of asymptomatic SOD1 carriers stays normal over 3 years and falls abruptly "
        "several months before weakness (L69; test-retest within 5 %); the band's 85 % is assumed as "
        "a loss that repeated MUNE would not yet show",
        _human_read(_nan_if_censored(lambda r: O.units_before_weakness(r, ("APB", "FDI")), *_ONSET)),
    ),
    Check(
        "L71",
        "human: months from respiratory weakness (diaphragm force below the onset fraction) to end stage",
        4,
        18,
        "read: respiratory symptoms 16.1 and the respiratory endpoint 24.9 months after onset (means, "
        "L70-L71), 8.8 months apart; the band is assumed (the endpoint's definition was not read, and "
        "it may come before death)",
        _human_read(O.respiratory_course_months),
    ),
)


def _cached(key: tuple, compute: Callable[[], object]):
    """One computation per key, shared by the checks that read it (as ``_run``)."""
    if key not in _RUNS:
        _RUNS[key] = compute()
    return _RUNS[key]


def _als_mune_decline(method: str) -> Callable[[int], float]:
    """Fall of ``method``'s estimate over the 8 months after APB onset, % of baseline per month
    (two simulated patients, one-muscle human-als course; visits at onset, 4 and 8 months as R07)."""
    from endplate.disease.mune_course import decline_percent_per_month, mune_after_onset

    def predict(seed: int) -> float:
        rows = _cached(("als-mune", seed), lambda: mune_after_onset("sporadic-ALS", "dying_back", "APB", subjects=2, seed=seed))
        return _or_nan(decline_percent_per_month(rows, method))

    return predict


def _symptomatic_apb(seed: int):
    """Human APB 200 days after its onset in the one-muscle human-als course (dying back)."""
    from endplate.disease.diseased_muscle import muscle_on_day, one_muscle_scenario
    from endplate.disease.simulate import simulate

    def compute():
        sc = one_muscle_scenario("sporadic-ALS", "dying_back", "APB", seed)
        onset = simulate(sc).onset_day
        return None if onset is None else muscle_on_day(sc, "APB", min(int(onset) + 200, sc.end_day))

    return _cached(("symptomatic-apb", seed), compute)


def _symptomatic_fibre_density(seed: int) -> float:
    from endplate.muscle.sfemg import fibre_density

    a = _symptomatic_apb(seed)
    return _or_nan(None if a is None else fibre_density(a, seed, n_sites=60))


def _healthy_grouping(species: str, name: str) -> Callable[[int], float]:
    from endplate.muscle.grouping import grouping_index

    return lambda seed: _or_nan(grouping_index(_muscle(species, name, seed)))


def _sod1_mune_pairs(seed: int) -> np.ndarray:
    """(incremental, multipoint) MUNE of the same SOD1-G93A TA recordings, 5 mice at P60, P80, P100, P120."""
    from endplate.disease.mune_course import mune_recordings

    rows = _cached(
        ("sod1-mune", seed),
        lambda: mune_recordings(
            "SOD1-G93A", "dying_back", "TA", (60, 80, 100, 120), subjects=5, seed=seed, methods=("incremental", "mps")
        ),
    )
    pairs: dict[tuple, dict] = {(r["subject"], r["day"]): {} for r in rows}
    for r in rows:
        pairs[(r["subject"], r["day"])][r["method"]] = r["estimate"]
    return np.array([(p["incremental"], p["mps"]) for p in pairs.values() if None not in p.values()], float).reshape(-1, 2)


def _sod1_mune_agreement(seed: int) -> float:
    """Pearson r of incremental and multipoint MUNE over SOD1-G93A TA recordings from P60 to P120."""
    xy = _sod1_mune_pairs(seed)
    return float(np.corrcoef(xy.T)[0, 1]) if len(xy) > 2 else float("nan")


def _sod1_incremental_over_mps(seed: int) -> float:
    """Median over the same recordings of incremental MUNE / multipoint MUNE."""
    xy = _sod1_mune_pairs(seed)
    return float(np.median(xy[:, 0] / xy[:, 1])) if len(xy) else float("nan")


# The electrodiagnosis of the diseased muscle (issue 12): fibre density, grouping and MUNE by method.
READOUT_CHECKS: tuple[Check, ...] = (
    Check(
        "R15",
        "healthy human APB fibre-type grouping index (random mosaic reads 1)",
        0.9,
        1.1,
        "read: random arrangement (vastus lateralis; muscle differs)",
        _healthy_grouping("human", "APB"),
    ),
    Check(
        "L66",
        "human APB SFEMG fibre density 200 days after onset (ALS)",
        2.0,
        5.0,
        "recalled 2-3 (EDC), wide band; with per-NMJ triggers the turnover of ownership before units died "
        "clustered the survivors' fibres (7.9); with unit pruning (human, 3 December 2026) 3.1-3.6 at seeds 0 and 7",
        _symptomatic_fibre_density,
    ),
    Check(
        "R12",
        "SOD1-G93A TA: incremental vs multipoint MUNE correlation, P60-P120 (5 mice)",
        0.8,
        1.0,
        "read r = 0.95 (distal hindlimb; TA here); the simulated incremental count scatters with alternation "
        "(r 0.62-0.76 across seeds)",
        _sod1_mune_agreement,
        open_issue=12,
    ),
    Check(
        "R12",
        "same recordings: incremental over multipoint MUNE (median ratio)",
        0.6,
        1.0,
        "read: the incremental method gave slightly larger unit potentials and so smaller MUNEs than the multipoint "
        "method (the band, 'slightly smaller', is assumed). The simulated incremental count is the larger, 1.4-1.6 times "
        "MPS at seeds 0, 1 and 7: it counts the levels that alternation of close thresholds makes; accepting only "
        "levels reproduced on repeated stimuli (tried, not kept) gave 0.75-0.94 (2 of 2 or 3) or 0.24 (3 of 3) and lowered "
        "the correlation (0.35-0.83)",
        _sod1_incremental_over_mps,
        open_issue=12,
    ),
    Check(
        "R07",
        "human APB MScanFit-like scan-fit MUNE decline after onset (% per month)",
        4.35,
        13.05,
        "read mean 8.7; +-50 % (no spread in the abstract)",
        _als_mune_decline("scanfit"),
    ),
    Check(
        "R08", "human APB MPS MUNE decline after onset (% per month)", 1.7, 5.1, "read mean 3.4; +-50 %", _als_mune_decline("mps")
    ),
    Check(
        "R09", "human APB MUNIX decline after onset (% per month)", 2.4, 7.2, "read mean 4.8; +-50 %", _als_mune_decline("munix")
    ),
)


def validate(
    seed: int = 0,
    layers: tuple[str, ...] = ("junction", "electrodiagnosis", "muscle", "disease"),
    extra: Iterable[Check] = (),
    builtin: bool = True,
) -> list[dict]:
    """Run every check; one dict per check with the prediction, band and verdict.

    ``extra``: checks from a layer this one may not import (the virtual placebo arms of
    ``therapy.placebo``, which the command line adds). ``builtin=False``: only ``extra``.
    """
    registry = load_targets()
    results = []
    own = CHECKS + MUSCLE_CHECKS + POST_EXERCISE_CHECKS + DISEASE_CHECKS + READOUT_CHECKS if builtin else ()
    for check in own + tuple(extra):
        row = registry[check.target_id]
        if row["layer"] not in layers:
            continue
        predicted = check.predict(seed)
        results.append(
            {
                "id": check.target_id,
                "name": check.name,
                "predicted": predicted,
                "low": check.low,
                "high": check.high,
                "passed": bool(np.isfinite(predicted) and check.low <= predicted <= check.high),
                "published": row["value"],
                "unit": row["unit"],
                "evidence": row["evidence"],
                "role": row["role"],
                "source": row["source"],
                "tolerance": check.tolerance,
                "open_issue": check.open_issue,
            }
        )
    return results


def summarise(results: list[dict]) -> dict:
    """Counts of a validation by role.

    ``passed`` / ``failed`` count the ``fit`` rows that are not known gaps: the model is tuned to
    them, so a failure there is a regression and fails ``endplate validate``. ``test`` rows measure
    prediction: they are reported (``test_passed`` / ``test_failed``, each failure with its row) and
    never fail the command, so that a failing prediction stays visible instead of being tuned away.
    """
    counted = [r for r in results if r["open_issue"] is None and r["role"] == "fit"]
    tests = [r for r in results if r["role"] == "test"]
    passed = sum(r["passed"] for r in counted)
    test_passed = sum(r["passed"] for r in tests)
    return {
        "passed": passed,
        "failed": len(counted) - passed,
        "open": sum(r["open_issue"] is not None and r["role"] == "fit" for r in results),
        "test_passed": test_passed,
        "test_failed": len(tests) - test_passed,
    }
