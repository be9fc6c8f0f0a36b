"""Paired-pulse facilitation and its two time constants."""

from __future__ import annotations

import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError
from endplate.junction import estimators as est
from endplate.junction.parameters import JunctionParameters
from endplate.junction.population import make_population
from endplate.junction.provenance import provenance_attrs
from endplate.kernels import run_train
from endplate.readings import REASON_SUFFIX
from endplate.seeding import substreams

DEFAULT_INTERVALS_MS = (5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 700, 1000)


def paired_pulse(
    params: JunctionParameters,
    *,
    intervals_ms=DEFAULT_INTERVALS_MS,
    n_junctions: int = 100000,
    unit_type: str = "FR",
    seed: int = 0,
    backend: str = "numba",
) -> xr.Dataset:
    """Facilitation F = m2/m1 - 1 of quantal content for each conditioning-test interval.

    Measured as in the classic experiments, in whatever bath ``params`` describes (use the
    ``low_calcium`` perturbation for the low-release condition, where depletion does not mask
    facilitation). Fits F(t) = A1 exp(-t/tau1) + A2 exp(-t/tau2) and reports F(0), tau1, tau2.
    """
    intervals = np.asarray(intervals_ms, float)
    if intervals.size < 4 or np.any(intervals <= 0):
        raise EndplateInputError("paired_pulse needs at least 4 positive intervals_ms to fit two time constants")
    streams = substreams(seed, "population", *[f"pair{i}" for i in range(intervals.size)])
    pop = make_population(params, n_junctions, streams["population"], unit_type)
    ratio = np.empty(intervals.size)
    for i, dt in enumerate(intervals):
        rec = run_train(pop, pop.rested_state(), [np.inf, dt], streams[f"pair{i}"], backend=backend, record=False)
        ratio[i] = rec.total_quanta[1] / rec.total_quanta[0]
    attrs = provenance_attrs(
        "paired-pulse",
        seed,
        params,
        intervals_ms=intervals.tolist(),
        n_junctions=n_junctions,
        unit_type=unit_type,
        backend=backend,
    )
    fitted = ("facilitation_f0", "tau_fast_ms", "tau_slow_ms", "amplitude_fast")
    if ratio[0] > 1:
        values: tuple[float, ...] = est.two_exponential_facilitation(intervals, ratio - 1)
    else:
        # A junction that releases a large share of its pool per impulse (the human preset) depresses
        # at short intervals: there is no facilitation for the two-exponential model to describe.
        values = (np.nan,) * len(fitted)
        why = (
            f"the pair depresses at {intervals[0]:g} ms (paired-pulse ratio {ratio[0]:.2f}); the facilitation "
            "fit needs a ratio above 1 there (try --perturb low_calcium)"
        )
        attrs.update({name + REASON_SUFFIX: why for name in fitted})
    data = {name: ((), value) for name, value in zip(fitted, values, strict=True)}
    return xr.Dataset({"paired_pulse_ratio": ("interval_ms", ratio), **data}, coords={"interval_ms": intervals}, attrs=attrs)
