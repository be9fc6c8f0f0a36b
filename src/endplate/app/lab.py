"""What the app computes, without any web code: choices, checked inputs, the disease course and
the virtual EMG lab at one age. Every function takes plain values and a seed and can be called
from Python or tests; the page only draws what these return.

The app runs small versions of the bundled scenarios: one muscle of the chosen species, from the
scenario's first to last day, so that a course takes seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError

Progress = Callable[[int, int], None]
N_PROBES = 6  # ages at which the cross-section is kept for the day slider
MAX_SEED = 2**31 - 1
LAB_MUNE_METHODS = ("incremental", "mps", "scanfit")  # MUNIX (interference patterns) is left to the CLI: slow


def interventions() -> list[str]:
    """Names of the bundled interventions (the therapy layer)."""
    from endplate.therapy.interventions import bundled

    return sorted(bundled())


def _treatment(inputs: Inputs, start_day: int) -> dict:
    """Keyword arguments for ``simulate``: the chosen interventions in their default windows from ``start_day``."""
    if not inputs.interventions:
        return {}
    from endplate.therapy.interventions import Course

    return {"interventions": Course.resolve(list(inputs.interventions), at_day=start_day)}


def choices() -> dict:
    """Everything the page offers: muscles and genotypes per species, hypotheses, interventions."""
    from endplate.disease.model import genotype, genotypes, hypotheses
    from endplate.junction.parameters import SPECIES
    from endplate.muscle.presets import muscles

    return {
        "species": list(SPECIES),
        "muscles": {sp: list(muscles(sp)) for sp in SPECIES},
        "genotypes": {sp: [g for g in genotypes() if genotype(g).species == sp] for sp in SPECIES},
        "hypotheses": list(hypotheses()),
        "interventions": interventions(),
    }


@dataclass(frozen=True)
class Inputs:
    """A checked request from the page."""

    species: str
    muscle: str
    genotype: str
    hypothesis: str
    interventions: tuple[str, ...] = ()
    seed: int = 1


def check_inputs(species, muscle, genotype, hypothesis, interventions=(), seed=1) -> Inputs:
    """Check every value against what is offered; raise EndplateInputError naming the bad one."""
    c = choices()

    def one_of(what, value, allowed):
        if not isinstance(value, str) or value not in allowed:
            raise EndplateInputError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")

    one_of("species", species, c["species"])
    one_of(f"{species} muscle", muscle, c["muscles"][species])
    one_of(f"{species} genotype", genotype, c["genotypes"][species])
    one_of("hypothesis", hypothesis, c["hypotheses"])
    if (
        isinstance(interventions, (str, bytes))
        or len(interventions) > len(c["interventions"])
        or len(set(interventions)) != len(interventions)
    ):
        raise EndplateInputError(f"interventions: each of {', '.join(c['interventions'])} at most once, got {interventions!r}")
    for name in interventions:
        one_of("intervention", name, c["interventions"])
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise EndplateInputError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return Inputs(species, muscle, genotype, hypothesis, tuple(interventions), int(seed))


def scenario(inputs: Inputs, end_day: int | None = None, probes: bool = True):
    """The app's one-muscle scenario; ``end_day`` shortens it (the EMG lab stops at its age)."""
    from endplate.disease.diseased_muscle import base_scenario, one_muscle_scenario

    base = base_scenario(inputs.genotype, inputs.species)
    start, end = base.start_day, (base.end_day if end_day is None else end_day)
    days = [int(d) for d in np.unique(np.linspace(start, end, N_PROBES).round())] if probes else []
    return one_muscle_scenario(
        inputs.genotype, inputs.hypothesis, inputs.muscle, inputs.seed, inputs.species, end_day=end, probe_days=tuple(days)
    )


def age_range(inputs: Inputs) -> tuple[int, int]:
    """First and last day of the course: the ages at which the EMG lab can record."""
    from endplate.disease.diseased_muscle import base_scenario

    base = base_scenario(inputs.genotype, inputs.species)
    return base.start_day, base.end_day


def disease_course(inputs: Inputs, progress: Progress | None = None) -> xr.Dataset:
    """Simulate the course in the chosen muscle; the same dataset as ``endplate run`` saves."""
    from endplate.disease.dataset import run_dataset
    from endplate.disease.simulate import simulate

    sc = scenario(inputs)
    return run_dataset(simulate(sc, progress=progress, **_treatment(inputs, sc.start_day)))


def _muscle_at(inputs: Inputs, age_day: int, progress: Progress | None):
    """The muscle as the disease has left it at ``age_day``, junctions included."""
    from endplate.disease.diseased_muscle import check_day, muscle_on_day

    sc = scenario(inputs, probes=False)
    age_day = check_day(sc, age_day, "age")
    return muscle_on_day(
        scenario(inputs, end_day=max(age_day, sc.start_day + 1), probes=False),
        inputs.muscle,
        age_day,
        progress,
        **_treatment(inputs, sc.start_day),
    )


def _estimate(result: dict) -> dict:
    """A MUNE result's estimate and, where undefined, its reason."""
    return {k: v for k, v in result.items() if k.startswith("estimate")}


def emg_lab(inputs: Inputs, age_day: int, progress: Progress | None = None) -> dict:
    """The four recordings of the virtual EMG lab on the muscle at ``age_day``.

    ``train``: EPPs (mV) of up to 20 innervated fibres in a 50 Hz train of 30 stimuli and their
    firing thresholds; ``sfemg``: jitter of fibre pairs at 10 Hz voluntary firing; ``rns``: CMAPs
    of a 3 Hz train and the decrement; ``scan``: a 300-stimulus CMAP scan; ``mune``: estimates by
    each method beside the true number of functioning units. A quantity the muscle cannot give
    (jitter without a fibre pair, a MUNE without a response) is None beside its
    ``*_undefined_reason``.
    """
    from endplate.junction.train import regular_intervals
    from endplate.kernels import run_train
    from endplate.muscle.cmap import cmap_scan
    from endplate.muscle.mune import mune
    from endplate.muscle.rns import muscle_rns
    from endplate.muscle.sfemg import muscle_sfemg
    from endplate.seeding import substreams

    anatomy = _muscle_at(inputs, age_day, progress)
    s = substreams(inputs.seed, "train", "sfemg", "rns", "scan", "mune", "fibres")
    ok = np.flatnonzero(anatomy.innervated())
    picked = np.sort(np.random.default_rng(s["fibres"]).choice(ok, size=min(20, ok.size), replace=False)) if ok.size else ok
    pop = anatomy.junctions.subset(picked)
    if picked.size:
        rec = run_train(pop, pop.rested_state(), regular_intervals(50.0, 30), s["train"])
        epp = rec.epp_mv
    else:
        epp = np.zeros((0, 30))
    scan = cmap_scan(anatomy, 300, s["scan"])
    return {
        "age_day": int(age_day),
        "train": {"epp_mv": epp, "threshold_mv": np.asarray(pop.threshold_mv, float), "frequency_hz": 50.0},
        "sfemg": muscle_sfemg(anatomy, 10.0, n_pairs=20, seed=s["sfemg"]),
        "rns": muscle_rns(anatomy, 3.0, 10, s["rns"]),
        "scan": {"stimulus_ma": scan["stimulus_ma"], "cmap_mv": scan["cmap_mv"]},
        "mune": {m: _estimate(mune(anatomy, m, s["mune"])) for m in LAB_MUNE_METHODS},
        "true_units": anatomy.functioning_units(),
        "innervated_percent": 100.0 * ok.size / anatomy.n_fibres,
    }
